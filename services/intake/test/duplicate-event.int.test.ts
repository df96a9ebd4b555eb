import { randomUUID } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { REGISTRATION_SUBMITTED_V1 } from '@gelombang/contracts';
import { createKafka, EventProducer, type App } from '@gelombang/platform';
import { TopicTap } from '@gelombang/testkit';
import { buildTestApp, DATABASE_URL, dropSchema, KAFKA_BROKERS, person, testEnv, waitFor, type TestEnv } from './helpers/build-test-app';

/*
 * The producer is not idempotent (decision 0020): a retry after a lost acknowledgement can store a batch
 * twice, and so can the outbox relay after a crash and a dead-letter replay. The projector must then keep
 * one registration: the same CloudEvents message, delivered three times, leaves one row.
 */
describe('the intake projector given the same registration.submitted.v1 event three times', () => {
  let t: TestEnv;
  let app: App;
  let db: pg.Client;
  let tap: TopicTap;
  const producer = new EventProducer(createKafka({ brokers: KAFKA_BROKERS.split(','), clientId: 'duplicate-test', logger: pino({ level: 'silent' }) }), {
    ackTimeoutMs: 10_000,
  });

  beforeAll(async () => {
    t = testEnv({ INTAKE_WARMUP_REQUESTS: '0' });
    app = await buildTestApp(t);
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
    tap = await new TopicTap([REGISTRATION_SUBMITTED_V1]).start();
    await producer.connect();
  });
  afterAll(async () => {
    await producer.close();
    await tap.stop();
    await app.close();
    await db.end();
    await dropSchema(t.schema);
  });

  it('keeps one registration, unchanged', async () => {
    const accepted = await app.inject({ method: 'POST', url: '/v1/registrations', payload: person() });
    expect(accepted.statusCode).toBe(202);
    const id = accepted.json<{ registrationId: string }>().registrationId;
    await tap.waitFor(REGISTRATION_SUBMITTED_V1, { key: id });
    const message = tap.messages.find((m) => m.topic === REGISTRATION_SUBMITTED_V1 && m.key === id)!;
    const event = JSON.parse(message.value) as { id: string; subject: string; data: { registrationId: string } };
    const row = async (registrationId: string) =>
      (
        await db.query<{ event_id: string; status: string }>(`SELECT event_id::text, status FROM ${t.schema}.registrations WHERE registration_id = $1`, [
          registrationId,
        ])
      ).rows;
    await waitFor(async () => ((await row(id)).length === 1 ? true : undefined), 30_000, 'the registration projected');
    const before = await row(id);

    // The same message twice more, then a sentinel on the same key (so the same partition, after them):
    // once the sentinel is projected, the copies were consumed.
    await producer.publish({ topic: REGISTRATION_SUBMITTED_V1, key: id, value: message.value, headers: message.headers });
    await producer.publish({ topic: REGISTRATION_SUBMITTED_V1, key: id, value: message.value, headers: message.headers });
    const sentinelId = randomUUID();
    const sentinel = { ...event, id: randomUUID(), subject: sentinelId, data: { ...event.data, registrationId: sentinelId } };
    await producer.publish({ topic: REGISTRATION_SUBMITTED_V1, key: id, value: JSON.stringify(sentinel), headers: message.headers });
    await waitFor(async () => ((await row(sentinelId)).length === 1 ? true : undefined), 30_000, 'the sentinel projected');

    expect(await row(id)).toEqual(before);
    expect(before).toEqual([{ event_id: event.id, status: 'pending_email_verification' }]);
    const copies = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.schema}.registrations WHERE event_id = $1`, [event.id]);
    expect(copies.rows[0]!.n).toBe(1);
  });
});
