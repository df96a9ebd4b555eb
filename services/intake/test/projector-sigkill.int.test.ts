import { join } from 'node:path';
import pg from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { DEADLETTER_V1, NIK_VERIFICATION_REQUESTED_V1, REGISTRATION_STATUS_CHANGED_V1, REGISTRATION_SUBMITTED_V1 } from '@gelombang/contracts';
import type { App } from '@gelombang/platform';
import { CONSUMER_SESSION_TIMEOUT_MS, freePort, startReadyServer, stopServer, TopicTap, uniqueId, type ServerProcess } from '@gelombang/testkit';
import { buildTestApp, DATABASE_URL, dropSchema, KAFKA_BROKERS, person, testEnv, waitFor, type TestEnv } from './helpers/build-test-app';

const SERVER = join(__dirname, '../dist/server.js');

/**
 * Issue #14, "consumer SIGKILL mid-drain", for the intake's projector: killed with a batch in flight
 * (its insert waiting on a lock, so nothing of it committed) and a backlog behind it, it must neither
 * lose nor double a row, and every registration's verdict must be announced (decision 0024: the email
 * service mails nobody before it).
 */
describe('the intake projector SIGKILLed mid-drain (real projector process, private topics, PostgreSQL)', () => {
  const prefix = `pk-${uniqueId()}.`;
  const topics = [REGISTRATION_SUBMITTED_V1, REGISTRATION_STATUS_CHANGED_V1, NIK_VERIFICATION_REQUESTED_V1, DEADLETTER_V1].map((x) => prefix + x);
  const admin = new Kafka({ brokers: KAFKA_BROKERS.split(','), clientId: 'projector-sigkill-test', logLevel: logLevel.NOTHING }).admin();
  let t: TestEnv;
  let api: App;
  let db: pg.Client;
  let tap: TopicTap;
  let proc: ServerProcess | undefined;
  let projectorEnv: Record<string, string>;

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })), waitForLeaders: true });
    t = testEnv({
      KAFKA_TOPIC_PREFIX: prefix,
      CONSUMER_ENABLED: 'false',
      RATE_LIMIT_CLIENT_BURST: '100000',
      RATE_LIMIT_CLIENT_PER_SEC: '100000',
      RATE_LIMIT_GLOBAL_BURST: '100000',
      RATE_LIMIT_GLOBAL_PER_SEC: '100000',
    });
    api = await buildTestApp(t);
    projectorEnv = { ...t.env, CONSUMER_ENABLED: 'true', CONSUMER_START_AT: 'committed', HTTP_PORT: String(await freePort()), LOG_LEVEL: 'warn' };
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
    tap = await new TopicTap([prefix + REGISTRATION_STATUS_CHANGED_V1]).start();
  });
  afterAll(async () => {
    await stopServer(proc);
    await api?.close();
    await tap?.stop();
    await db?.end();
    await dropSchema(t.schema);
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  const startProjector = async () => {
    proc = await startReadyServer(SERVER, projectorEnv, projectorEnv.HTTP_PORT!);
  };
  /** Accepted registrations (202), `n` of them, `concurrency` at a time. */
  async function submit(n: number): Promise<string[]> {
    const ids: string[] = [];
    const one = async () => {
      const r = await api.inject({ method: 'POST', url: '/v1/registrations', payload: person() });
      expect(r.statusCode).toBe(202);
      ids.push(r.json().registrationId);
    };
    for (let i = 0; i < n; i += 20) await Promise.all(Array.from({ length: Math.min(20, n - i) }, one));
    return ids;
  }
  const rows = async () =>
    (await db.query<{ registration_id: string; n: number }>(`SELECT registration_id, count(*)::int AS n FROM ${t.schema}.registrations GROUP BY 1`)).rows;

  it('loses and doubles no row, and announces every registration’s verdict, across a kill with a batch in flight', async () => {
    await startProjector();
    const first = await submit(150);
    await waitFor(async () => ((await rows()).length === first.length ? true : undefined), 30_000, 'the first ones projected');

    // The next batch's insert waits behind this lock: the kill finds it in flight, uncommitted.
    const lock = new pg.Client({ connectionString: DATABASE_URL });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query(`LOCK TABLE ${t.schema}.registrations IN SHARE MODE`);
    const second = await submit(150);
    await waitFor(
      async () =>
        (
          await db.query(
            `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO registrations%' AND application_name = 'intake'`,
          )
        ).rowCount
          ? true
          : undefined,
      30_000,
      'an insert waiting on the lock',
    );
    proc!.proc.kill('SIGKILL');
    await proc!.exited;
    await lock.query('ROLLBACK');
    await lock.end();
    // A backlog while it is down; restarted once the dead member's Kafka session is over.
    const third = await submit(100);
    await new Promise((r) => setTimeout(r, CONSUMER_SESSION_TIMEOUT_MS + 1_000));
    await startProjector();

    const all = [...first, ...second, ...third];
    const final = await waitFor(
      async () => {
        const r = await rows();
        return r.length >= all.length ? r : undefined;
      },
      60_000,
      'every registration projected',
    );
    expect(final.length).toBe(all.length);
    expect(final.filter((r) => r.n !== 1)).toEqual([]);
    expect(new Set(final.map((r) => r.registration_id))).toEqual(new Set(all));

    // Every registration's verdict was announced (at least once: a redelivered batch announces again).
    const announced = await waitFor(
      async () => {
        const seen = new Set(
          tap.messages
            .map((m) => JSON.parse(m.value) as { data: { registrationId: string; status: string } })
            .filter((e) => e.data.status === 'pending_email_verification')
            .map((e) => e.data.registrationId),
        );
        return all.every((id) => seen.has(id)) ? seen : undefined;
      },
      30_000,
      'every verdict announced',
    );
    expect(announced.size).toBeGreaterThanOrEqual(all.length);
  }, 180_000);
});
