import pg from 'pg';
import pino from 'pino';
import { eventBuilder, REGISTRATION_STATUS_CHANGED_V1, registrationStatusChangedV1Event } from '@gelombang/contracts';
import { createKafka, EventProducer, type App } from '@gelombang/platform';
import { asApplicant, TopicTap } from '@gelombang/testkit';
import { buildTestApp, DATABASE_URL, dropSchema, person, testEnv, waitFor, type TestEnv } from './helpers/build-test-app';

/**
 * Issue #13: a registration that never verifies its email expires and releases what it claimed; one
 * that ended expired or duplicate loses its sealed personal data after the retention period. Short
 * windows here (5 s and 3 s; the defaults are 72 h and 30 days).
 */
describe('expiry of unverified registrations and retention of personal data (real Kafka, PostgreSQL, Redis)', () => {
  let t: TestEnv;
  let app: App;
  let db: pg.Client;
  let tap: TopicTap;
  beforeAll(async () => {
    t = testEnv({ INTAKE_PENDING_REGISTRATION_TTL_SEC: '5', INTAKE_RETENTION_SEC: '3', INTAKE_RETENTION_POLL_MS: '200', CONSUMER_START_AT: 'end' });
    tap = await new TopicTap([REGISTRATION_STATUS_CHANGED_V1]).start();
    app = await buildTestApp(t);
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await app.close();
    await tap.stop();
    await db.end();
    await dropSchema(t.schema);
  });

  const post = (body: object) => app.inject({ method: 'POST', url: '/v1/registrations', payload: body });
  const row = async (id: string) =>
    (
      await db.query(
        `SELECT status, nik_enc, email_enc, phone_enc, full_name_enc, birth_date_enc, nik_index, email_index, pii_erased_at FROM ${t.schema}.registrations WHERE registration_id = $1`,
        [id],
      )
    ).rows[0] as Record<string, unknown> | undefined;

  it('expires an unverified registration, frees its email for a new one, then erases its personal data; a verified one keeps all', async () => {
    const producer = new EventProducer(createKafka({ brokers: t.config.KAFKA_BROKERS, clientId: 'retention-test', logger: pino({ level: 'silent' }) }), {
      ackTimeoutMs: 10_000,
    });
    await producer.connect();
    const lapsed = person();
    const first = await post(lapsed);
    expect(first.statusCode).toBe(202);
    const lapsedId: string = first.json().registrationId;
    const kept = person();
    const keptRes = await post(kept);
    const keptId: string = keptRes.json().registrationId;
    // The second one verifies its email (the email service's event, as on the topic) before its window ends.
    await producer.publish(
      eventBuilder('urn:gelombang:email').message(registrationStatusChangedV1Event, {
        registrationId: keptId,
        status: 'email_verified',
        changedAt: new Date().toISOString(),
      }),
    );
    await producer.close();

    // Expired: announced (after the projector's verdict on its submission), shown to its applicant,
    // and its address free for a new registration.
    await waitFor(
      async () =>
        tap
          .events<{ data: { status: string; reason?: string } }>(REGISTRATION_STATUS_CHANGED_V1, lapsedId)
          .some((e) => e.data.status === 'expired' && e.data.reason === 'EMAIL_NOT_VERIFIED')
          ? true
          : undefined,
      20_000,
      'the expiry announced',
    );
    const view = await app.inject({ method: 'GET', url: `/v1/registrations/${lapsedId}`, headers: asApplicant(lapsedId) });
    expect(view.json()).toMatchObject({ status: 'expired' });
    const again = await post({ ...lapsed });
    expect(again.statusCode).toBe(202);
    const againId: string = again.json().registrationId;
    expect(againId).not.toBe(lapsedId);
    await waitFor(
      async () => ((await row(againId))?.status === 'pending_email_verification' ? true : undefined),
      20_000,
      'the new registration stored as pending',
    );

    // Past the retention period the expired one keeps its id and status, and nothing personal.
    const erased = await waitFor(async () => {
      const r = await row(lapsedId);
      return r?.pii_erased_at ? r : undefined;
    }, 20_000);
    expect(erased).toMatchObject({ status: 'expired', nik_enc: '', email_enc: '', phone_enc: '', full_name_enc: '', birth_date_enc: '' });
    expect(erased.nik_index).toBe(`erased:${lapsedId}`);
    expect(erased.email_index).toBe(`erased:${lapsedId}`);
    // The verified one is untouched.
    const keptRow = (await row(keptId))!;
    expect(keptRow.status).toBe('pending_email_verification'); // the row's own status; the funnel's is in the progress
    expect(keptRow.pii_erased_at).toBeNull();
    expect(t.cipher.decrypt(keptRow.nik_enc as string, 'nik')).toBe(kept.nik);
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toMatch(/intake_registrations_expired_total\{service="intake"\} [1-9]/);
    expect(metrics).toMatch(/intake_personal_data_erased_total\{service="intake"\} [1-9]/);
  });
});
