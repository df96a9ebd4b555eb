import pg from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { DEADLETTER_V1, NIK_VERIFICATION_REQUESTED_V1, REGISTRATION_STATUS_CHANGED_V1, REGISTRATION_SUBMITTED_V1 } from '@gelombang/contracts';
import { uniqueId } from '@gelombang/testkit';
import type { App } from '@gelombang/platform';
import { buildTestApp, DATABASE_URL, dropSchema, KAFKA_BROKERS, person, testEnv, waitFor, type TestEnv } from './helpers/build-test-app';

/** KAFKA_TOPIC_PREFIX (the load suite's private intake): everything it writes and reads is under the prefix. */
describe('an intake with KAFKA_TOPIC_PREFIX (real Kafka, PostgreSQL, Redis)', () => {
  const prefix = `lt-${uniqueId()}.`;
  const topics = [REGISTRATION_SUBMITTED_V1, REGISTRATION_STATUS_CHANGED_V1, NIK_VERIFICATION_REQUESTED_V1, DEADLETTER_V1].map((x) => prefix + x);
  const admin = new Kafka({ brokers: KAFKA_BROKERS.split(','), clientId: 'intake-prefix-test', logLevel: logLevel.NOTHING }).admin();
  const total = async (topic: string) => (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  let t: TestEnv;
  let app: App;
  let db: pg.Client;

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 2, replicationFactor: 1 })), waitForLeaders: true });
    t = testEnv({ KAFKA_TOPIC_PREFIX: prefix });
    app = await buildTestApp(t); // the projector's consumers too (CONSUMER_ENABLED defaults to true)
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await app?.close();
    await db?.end();
    await dropSchema(t.schema);
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it('publishes to the prefixed topic, projects from it into PostgreSQL, and writes nothing to the shared one', async () => {
    const sharedBefore = await total(REGISTRATION_SUBMITTED_V1);
    const res = await app.inject({ method: 'POST', url: '/v1/registrations', payload: person() });
    expect(res.statusCode).toBe(202);
    const { registrationId } = res.json() as { registrationId: string };

    // The row can only come from the projector consuming <prefix>registration.submitted.v1.
    const row = await waitFor(
      async () => (await db.query(`SELECT status FROM ${t.schema}.registrations WHERE registration_id = $1`, [registrationId])).rows[0],
    );
    expect(row.status).toBe('pending_email_verification');
    expect(await total(prefix + REGISTRATION_SUBMITTED_V1)).toBe(1);
    expect(await total(REGISTRATION_SUBMITTED_V1)).toBe(sharedBefore);
  });
});
