import pino from 'pino';
import {
  makeEvent,
  NIK_VERIFICATION_REQUESTED_V1,
  nikVerificationRequestedV1,
  REGISTRATION_STATUS_CHANGED_V1,
  type RegistrationStatusChangedV1Data,
} from '@gelombang/contracts';
import { serialTypo } from '@gelombang/nik';
import { createKafka, EventProducer, type App } from '@gelombang/platform';
import { asApplicant, TopicTap, refusal, FORBIDDEN_SESSION_EN } from '@gelombang/testkit';
import { supersedes, STATUS_RANK } from '../src/data-access/registrations-repository';
import { buildTestApp, capturedLogs, dropSchema, KAFKA_BROKERS, person, testEnv, waitFor, type TestEnv } from './helpers/build-test-app';

/** Plays the NIK service's part: status events on the real topic, as it would publish them. */
async function stageSim() {
  const kafka = createKafka({ brokers: KAFKA_BROKERS.split(','), clientId: 'nik-sim', logger: pino({ level: 'silent' }) });
  const producer = new EventProducer(kafka, { ackTimeoutMs: 10_000 });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  return {
    send: (data: Omit<RegistrationStatusChangedV1Data, 'changedAt'>, changedAt = new Date().toISOString()) =>
      producer.publish({
        topic: REGISTRATION_STATUS_CHANGED_V1,
        key: data.registrationId,
        value: JSON.stringify(makeEvent('id.gelombang.registration.status-changed.v1', 'urn:test:nik', data.registrationId, { ...data, changedAt })),
      }),
    ends: () => admin.fetchTopicOffsets(REGISTRATION_STATUS_CHANGED_V1),
    /**
     * Resolves once `groupId` has committed past everything published to the status topic's partitions
     * that grew since `before` (so past what this test sent; partitions nobody wrote to carry no commit).
     */
    async consumedBy(groupId: string, before: Array<{ partition: number; offset: string }>) {
      const was = new Map(before.map((p) => [p.partition, Number(p.offset)]));
      const grown = (await admin.fetchTopicOffsets(REGISTRATION_STATUS_CHANGED_V1)).filter((e) => Number(e.offset) > (was.get(e.partition) ?? 0));
      expect(grown.length).toBeGreaterThan(0);
      await waitFor(
        async () => {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [REGISTRATION_STATUS_CHANGED_V1] });
          const at = new Map(committed!.partitions.map((p) => [p.partition, Number(p.offset)]));
          return grown.every((e) => (at.get(e.partition) ?? -1) >= Number(e.offset)) || undefined;
        },
        30_000,
        `${groupId} caught up`,
      );
    },
    close: async () => {
      await admin.disconnect();
      await producer.close();
    },
  };
}

describe('POST /v1/registrations/:id/nik — correcting a NIK the registry rejected (real Kafka, PostgreSQL, Redis)', () => {
  let t: TestEnv;
  let app: App;
  let sim: Awaited<ReturnType<typeof stageSim>>;
  let tap: TopicTap;

  beforeAll(async () => {
    t = testEnv({ INTAKE_MAX_NIK_CORRECTIONS: '1' });
    app = await buildTestApp(t);
    sim = await stageSim();
    tap = await new TopicTap([NIK_VERIFICATION_REQUESTED_V1, REGISTRATION_STATUS_CHANGED_V1]).start();
  });
  afterAll(async () => {
    await tap.stop();
    await sim.close();
    await app.close();
    await dropSchema(t.schema);
  });

  const view = (id: string) => app.inject({ method: 'GET', url: `/v1/registrations/${id}`, headers: asApplicant(id) }).then((r) => r.json());
  const statusIs = (id: string, status: string, attempt?: number) =>
    waitFor(
      async () => {
        const v = await view(id);
        return v.status === status && (attempt === undefined || v.nikAttempt === attempt) ? v : undefined;
      },
      30_000,
      `${status} on ${id}`,
    );
  /** As the applicant: with the registration's own session, its code just proved (unless `session` says otherwise). */
  const correct = (id: string, nik: string, lang = 'en', session: Record<string, string> = asApplicant(id)) =>
    app.inject({ method: 'POST', url: `/v1/registrations/${id}/nik`, payload: { nik }, headers: { 'accept-language': lang, ...session } });

  /** Registers someone whose NIK has a typo (same birth date), projected and rejected by the registry. */
  async function rejectedApplicant(reason: 'NIK_NOT_FOUND' | 'DATA_MISMATCH' | 'NIK_INACTIVE' = 'NIK_NOT_FOUND') {
    const real = person();
    const typo = serialTypo(real.nik, 0);
    const res = await app.inject({ method: 'POST', url: '/v1/registrations', payload: { ...real, nik: typo } });
    expect(res.statusCode).toBe(202);
    const id: string = res.json().registrationId;
    await statusIs(id, 'pending_email_verification', 1);
    await sim.send({ registrationId: id, status: 'email_verified' });
    await sim.send({ registrationId: id, status: 'nik_rejected', reason, attempt: 1 });
    await statusIs(id, 'nik_rejected', 1);
    return { id, real, typo };
  }

  it('follows the seat: enrolled, withdrawn, enrolled again; late copies of older events change nothing', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/registrations', payload: person() });
    const id: string = res.json().registrationId;
    await statusIs(id, 'pending_email_verification', 1);
    await sim.send({ registrationId: id, status: 'nik_verified', attempt: 1 }, '2026-11-30T09:59:00.000Z');
    await sim.send({ registrationId: id, status: 'enrolled' }, '2026-11-30T10:00:00.000Z');
    await statusIs(id, 'enrolled');
    await sim.send({ registrationId: id, status: 'withdrawn', reason: 'WITHDRAWN_BY_APPLICANT' }, '2026-11-30T10:00:05.000Z');
    expect(await statusIs(id, 'withdrawn')).toMatchObject({ reason: 'WITHDRAWN_BY_APPLICANT' });

    // Replays of the first enrollment and of the NIK answer (at-least-once delivery) leave it withdrawn.
    const before = await sim.ends();
    await sim.send({ registrationId: id, status: 'enrolled' }, '2026-11-30T10:00:00.000Z');
    await sim.send({ registrationId: id, status: 'nik_verified', attempt: 1 }, '2026-11-30T09:59:00.000Z');
    await sim.consumedBy(`${t.config.CONSUMER_GROUP}-status`, before);
    expect(await view(id)).toMatchObject({ status: 'withdrawn', reason: 'WITHDRAWN_BY_APPLICANT' });

    // Enrolling again (another batch) is newer than the withdrawal.
    await sim.send({ registrationId: id, status: 'enrolled' }, '2026-11-30T10:01:00.000Z');
    expect(await statusIs(id, 'enrolled')).not.toHaveProperty('reason');
  });

  it('accepts the corrected NIK durably, queues a new registry check with it, and frees the mistyped NIK', async () => {
    const { id, real, typo } = await rejectedApplicant();
    expect(await view(id)).toMatchObject({ status: 'nik_rejected', reason: 'NIK_NOT_FOUND', nikAttempt: 1, nikCorrectable: true });

    const res = await correct(id, real.nik);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ registrationId: id, status: 'nik_resubmitted', nikAttempt: 2 });
    expect(await view(id)).toMatchObject({ status: 'nik_resubmitted', nikAttempt: 2 });

    // The outbox relay published the check request: the NIK service's input, sealed, attempt 2.
    const [requested] = await tap.waitFor(NIK_VERIFICATION_REQUESTED_V1, { key: id });
    const event = nikVerificationRequestedV1.parse(requested);
    expect(event.data.attempt).toBe(2);
    expect(t.cipher.decrypt(event.data.pii.nik, 'nik')).toBe(real.nik);
    expect(t.cipher.decrypt(event.data.pii.birthDate, 'birthDate')).toBe(real.birthDate);
    expect(t.cipher.decrypt(event.data.pii.fullName, 'fullName')).toBe(real.fullName);
    expect(event.data.nikIndex).toBe(t.cipher.blindIndex('nik', real.nik));
    expect(JSON.stringify(requested)).not.toContain(real.nik);
    // Among its status events (the projector's verdict on its submission came long before).
    await waitFor(
      async () =>
        tap.events<{ data: { status: string } }>(REGISTRATION_STATUS_CHANGED_V1, id).some((e) => e.data.status === 'nik_resubmitted') ? true : undefined,
      20_000,
      'nik_resubmitted announced',
    );

    // The typo may be somebody else's real NIK: that person can now register with it.
    const owner = person({ nik: typo, birthDate: real.birthDate });
    expect((await app.inject({ method: 'POST', url: '/v1/registrations', payload: owner })).statusCode).toBe(202);
    // Until the registry matches it, another registration may name the corrected NIK too…
    const rival = await app.inject({ method: 'POST', url: '/v1/registrations', payload: person({ nik: real.nik, birthDate: real.birthDate }) });
    expect(rival.statusCode).toBe(202);
    const rivalId: string = rival.json().registrationId;
    await statusIs(rivalId, 'pending_email_verification');

    // A late replay of the first check's rejection does not undo the correction; the new check's answer lands.
    await sim.send({ registrationId: id, status: 'nik_rejected', reason: 'NIK_NOT_FOUND', attempt: 1 });
    await sim.send({ registrationId: id, status: 'nik_verified', attempt: 2 });
    expect(await statusIs(id, 'nik_verified', 2)).not.toHaveProperty('reason');
    // …and once it matched, this registration holds the NIK: the rival ends rejected_duplicate.
    await statusIs(rivalId, 'rejected_duplicate');
    // Among its status events (the projector's verdict on its submission first).
    await waitFor(
      async () =>
        tap
          .events<{ data: { status: string; reason?: string } }>(REGISTRATION_STATUS_CHANGED_V1, rivalId)
          .some((e) => e.data.status === 'rejected_duplicate' && e.data.reason === 'NIK_HELD')
          ? true
          : undefined,
      20_000,
      'the rival rejected NIK_HELD',
    );
    expect((await correct(id, typo)).json().code).toBe('INTAKE_NIK_CORRECTION_NOT_ALLOWED');
    expect(capturedLogs.join('\n')).not.toContain(real.nik);
  });

  it('refuses a NIK whose birth date differs and the same NIK again with their codes; a NIK another registration holds is answered like any', async () => {
    const { id, real, typo } = await rejectedApplicant('DATA_MISMATCH');
    const other = person();
    expect((await app.inject({ method: 'POST', url: '/v1/registrations', payload: other })).statusCode).toBe(202);

    const wrongDate = await correct(id, other.nik, 'id');
    expect(wrongDate.statusCode).toBe(400);
    expect(wrongDate.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ field: 'nik', code: 'NIK_BIRTH_DATE_MISMATCH', message: expect.stringContaining('Tanggal lahir') }],
    });
    expect((await correct(id, '12345')).json().errors[0]).toMatchObject({ field: 'nik', code: 'NIK_FORMAT' });
    expect((await correct(id, typo)).json()).toMatchObject({ code: 'INTAKE_NIK_CORRECTION_UNCHANGED' });

    // Someone else holds the real NIK (the registry matched them). The correction is answered like any
    // other — the route says nothing about who holds a NIK — and the NIK service will reject the check.
    const holder = await app.inject({ method: 'POST', url: '/v1/registrations', payload: person({ nik: real.nik, birthDate: real.birthDate }) });
    expect(holder.statusCode).toBe(202);
    const holderId: string = holder.json().registrationId;
    await statusIs(holderId, 'pending_email_verification');
    await sim.send({ registrationId: holderId, status: 'nik_verified', attempt: 1 });
    await statusIs(holderId, 'nik_verified', 1);
    const taken = await correct(id, real.nik);
    expect(taken.statusCode).toBe(202);
    expect(await view(id)).toMatchObject({ status: 'nik_resubmitted', nikAttempt: 2 });
  });

  it('refuses corrections before a rejection, after an inactive-NIK rejection, beyond the limit, and for unknown ids', async () => {
    const fresh = await app.inject({ method: 'POST', url: '/v1/registrations', payload: person() });
    const freshId = fresh.json().registrationId;
    await statusIs(freshId, 'pending_email_verification', 1); // nikAttempt comes from the PostgreSQL row, not the Redis fallback view
    expect((await correct(freshId, person().nik)).json().code).toBe('INTAKE_NIK_CORRECTION_NOT_ALLOWED');

    const inactive = await rejectedApplicant('NIK_INACTIVE');
    expect(await view(inactive.id)).toMatchObject({ nikCorrectable: false });
    expect((await correct(inactive.id, inactive.real.nik)).json().code).toBe('INTAKE_NIK_NOT_CORRECTABLE');

    // The limit here is one correction: after the second rejection, no third check.
    const { id, real } = await rejectedApplicant();
    expect((await correct(id, real.nik)).statusCode).toBe(202);
    await sim.send({ registrationId: id, status: 'nik_rejected', reason: 'DATA_MISMATCH', attempt: 2 });
    await statusIs(id, 'nik_rejected', 2);
    const again = serialTypo(real.nik, 1);
    const limited = await correct(id, again);
    expect(limited.statusCode).toBe(409);
    expect(limited.json().code).toBe('INTAKE_NIK_CORRECTION_LIMIT_REACHED');

    const unknown = await correct('0190f000-0000-7000-8000-000000000000', real.nik);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('INTAKE_REGISTRATION_NOT_FOUND');
  });

  describe('only with the session of that registration, its code proved lately', () => {
    it('without a session answers 401 SESSION_REQUIRED with a Bearer challenge, before the body is read', async () => {
      const { id, real } = await rejectedApplicant();
      for (const payload of [{ nik: real.nik }, { nik: 12 }, '{"nik":']) {
        const res = await app.inject({ method: 'POST', url: `/v1/registrations/${id}/nik`, payload, headers: { 'content-type': 'application/json' } });
        expect({ payload, status: res.statusCode, body: res.json(), challenge: res.headers['www-authenticate'] }).toEqual({
          payload,
          status: 401,
          body: { code: 'SESSION_REQUIRED', message: expect.any(String) },
          challenge: 'Bearer realm="gelombang"',
        });
      }
      expect(await view(id)).toMatchObject({ status: 'nik_rejected', nikAttempt: 1 });
    });

    it("with another registration's session answers 403 SESSION_FORBIDDEN, the same whether or not it exists, and changes nothing", async () => {
      const victim = await rejectedApplicant();
      const other = await rejectedApplicant();
      const theirs = asApplicant(other.id);
      const [existing, missing] = [
        await correct(victim.id, victim.real.nik, 'en', theirs),
        await correct('0190f000-0000-7000-8000-000000000000', victim.real.nik, 'en', theirs),
      ];
      expect(refusal(existing)).toEqual(FORBIDDEN_SESSION_EN);
      expect(refusal(missing)).toEqual(refusal(existing));
      // Nothing was spent: the one correction this suite allows is still the victim's own to make.
      expect(await view(victim.id)).toMatchObject({ status: 'nik_rejected', nikAttempt: 1 });
      expect(tap.events(NIK_VERIFICATION_REQUESTED_V1, victim.id)).toEqual([]);
      const own = await correct(victim.id, victim.real.nik);
      expect([own.statusCode, own.json()]).toEqual([202, { registrationId: victim.id, status: 'nik_resubmitted', nikAttempt: 2 }]);
    });

    it('with a session whose code was proved 11 minutes ago answers 401 SESSION_NOT_FRESH; that session still reads the status', async () => {
      const { id, real } = await rejectedApplicant();
      const old = asApplicant(id, Date.now() - 11 * 60_000);
      const stale = await correct(id, real.nik, 'en', old);
      expect([stale.statusCode, stale.json().code, stale.headers['www-authenticate']]).toEqual([401, 'SESSION_NOT_FRESH', 'Bearer realm="gelombang"']);
      const status = await app.inject({ method: 'GET', url: `/v1/registrations/${id}`, headers: old });
      expect([status.statusCode, status.json()]).toEqual([200, expect.objectContaining({ status: 'nik_rejected', nikAttempt: 1 })]);
      // Signed in again (a fresh code): the correction goes through.
      expect((await correct(id, real.nik)).statusCode).toBe(202);
    });

    it('documents both in OpenAPI', async () => {
      const op = (await app.inject('/docs/openapi.json')).json().paths['/v1/registrations/{id}/nik'].post;
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '403', '404', '409', '429']));
      expect(op.description).toEqual(expect.stringContaining('SESSION_NOT_FRESH'));
    });
  });
});

describe('status precedence (the rule applyStatus runs in SQL)', () => {
  const s = (status: keyof typeof STATUS_RANK, attempt = 0) => ({ rank: STATUS_RANK[status], attempt });
  it('a newer NIK check wins, an older one never does, and later stages move forward only', () => {
    expect(supersedes(s('nik_rejected', 2), s('nik_verified', 1))).toBe(true);
    expect(supersedes(s('nik_rejected', 1), s('nik_resubmitted', 2))).toBe(false);
    expect(supersedes(s('nik_verified', 2), s('nik_resubmitted', 2))).toBe(true);
    expect(supersedes(s('enrolled'), s('nik_verified', 2))).toBe(true);
    expect(supersedes(s('email_verified'), s('nik_rejected', 1))).toBe(false);
    expect(supersedes(s('nik_verified', 1), s('email_verified'))).toBe(true);
  });

  it("between a seat's statuses the later change wins, in either direction; a seat status never goes back to the NIK stage", () => {
    // A stored seat status keeps the NIK attempt that led to it (applyStatus carries the greatest attempt).
    const at = (status: 'enrolled' | 'withdrawn', changedAt: string, attempt = 1) => ({ rank: STATUS_RANK[status], attempt, changedAt });
    expect(supersedes(at('withdrawn', '2026-11-30T10:00:01Z'), at('enrolled', '2026-11-30T10:00:00Z'))).toBe(true);
    expect(supersedes(at('enrolled', '2026-11-30T10:00:02Z'), at('withdrawn', '2026-11-30T10:00:01Z'))).toBe(true);
    // A late copy of the first enrollment after the withdrawal: older, ignored.
    expect(supersedes(at('enrolled', '2026-11-30T10:00:00Z'), at('withdrawn', '2026-11-30T10:00:01Z'))).toBe(false);
    expect(supersedes(at('withdrawn', '2026-11-30T10:00:01Z'), at('withdrawn', '2026-11-30T10:00:01Z'))).toBe(false);
    // An enrollment event carries no attempt (0) and still follows the seat rule against a stored attempt 1.
    expect(supersedes(at('enrolled', '2026-11-30T10:00:02Z', 0), at('withdrawn', '2026-11-30T10:00:01Z'))).toBe(true);
    expect(supersedes(s('nik_verified', 1), at('withdrawn', '2026-11-30T10:00:01Z'))).toBe(false);
    expect(supersedes(at('withdrawn', '2026-11-30T10:00:01Z'), s('nik_verified', 1))).toBe(true);
  });
});
