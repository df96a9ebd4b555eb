import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { createKafka, generateSessionKeys, loadConfig, sessionSignEnv, SessionIssuer, withKafkaAdmin, type ServiceBuildOptions } from '@gelombang/platform';
import { z } from 'zod';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? 'localhost:9092';

/** 12 hex characters: enough to keep parallel and repeated runs apart on shared servers. */
export const uniqueId = (): string => randomUUID().replace(/-/g, '').slice(0, 12);

/** Every log line any test app wrote, so a suite can assert that no personal data reached a log. */
export const capturedLogs: string[] = [];
export const logStream = new Writable({
  write(chunk, _enc, cb) {
    capturedLogs.push(chunk.toString());
    cb();
  },
});

/** Fresh random personal-data keys, as the PII_* settings every service reads. */
export function testPiiEnv(): { PII_KEYS: string; PII_ACTIVE_KEY_ID: string; PII_INDEX_KEY: string } {
  return { PII_KEYS: `t1:${randomBytes(32).toString('base64')}`, PII_ACTIVE_KEY_ID: 't1', PII_INDEX_KEY: randomBytes(32).toString('base64') };
}

/**
 * One session key pair for the whole test run, as the SESSION_* settings: every service under test
 * verifies with it, and the email service signs with it, so a session it issues opens the others.
 */
const SESSION_KEYS = generateSessionKeys();
export function testSessionEnv(): { SESSION_SIGNING_KEY: string; SESSION_VERIFY_KEYS: string } {
  return { ...SESSION_KEYS };
}

let issuer: SessionIssuer | undefined;
/**
 * A session token for `registrationId` signed with the run's key, as the email service would issue it
 * after a code (`authTime`, ms, defaults to now). For tests of a service whose applicant has proved the
 * address elsewhere; the funnel tests take theirs from the email service itself.
 */
export function sessionFor(registrationId: string, authTime?: number): string {
  issuer ??= new SessionIssuer(loadConfig(z.object(sessionSignEnv), SESSION_KEYS));
  return issuer.issue(registrationId, authTime).token;
}

/**
 * What a client sees of a refused applicant request (status, body, type, challenge): two refusals that
 * must not tell anything apart — another's registration that exists, one that does not — compare equal.
 */
export const refusal = (r: { statusCode: number; json(): unknown; headers: Record<string, unknown> }) => ({
  status: r.statusCode,
  body: r.json(),
  type: r.headers['content-type'],
  challenge: r.headers['www-authenticate'],
});

/** The 403 of a session that belongs to another registration, in English, as `refusal` shows it. */
export const FORBIDDEN_SESSION_EN = {
  status: 403,
  body: { code: 'SESSION_FORBIDDEN', message: 'This session belongs to another registration.' },
  type: 'application/json; charset=utf-8',
  challenge: undefined,
};

/** `Authorization` for `registrationId`'s session. */
export const asApplicant = (registrationId: string, authTime?: number) => ({ authorization: `Bearer ${sessionFor(registrationId, authTime)}` });

/**
 * The settings a service under test needs so that it shares nothing with other runs: its own schema,
 * Redis prefix and consumer-group suffix. `service` names the schema (`<service>_t_<id>`).
 */
export function isolatedEnv(service: string, id = uniqueId()): Record<string, string> & { PG_SCHEMA: string; REDIS_KEY_PREFIX: string } {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HTTP_PORT: '0',
    DATABASE_URL,
    REDIS_URL,
    KAFKA_BROKERS,
    PG_SCHEMA: `${service.replace(/-/g, '_')}_t_${id}`,
    REDIS_KEY_PREFIX: `test:${id}:`,
    ...testPiiEnv(),
    ...SESSION_KEYS,
  };
}

/**
 * Drops a schema this test created (never one it did not), and the consumer groups named after its
 * id (every service's test helper names its groups with it): a finished test leaves no group behind.
 */
export async function dropSchema(schema: string): Promise<void> {
  if (!/_t_[0-9a-f]{12}$/.test(schema)) throw new Error(`refusing to drop ${schema}: not a test schema`);
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
  await deleteTestGroups(schema.slice(-12));
}

/**
 * Deletes the empty consumer groups whose name holds `id` (a test's uniqueId: 12 hex characters, so
 * no other run's group has it). A group still in use stays; failing to reach the broker is no failure
 * of the test that is cleaning up.
 */
export async function deleteTestGroups(id: string): Promise<string[]> {
  if (!/^[0-9a-f]{12}$/.test(id)) throw new Error(`refusing to delete groups of ${id}: not a test id`);
  const kafka = createKafka({ brokers: KAFKA_BROKERS.split(','), clientId: 'testkit-cleanup', logger: pino({ level: 'silent' }) });
  return withKafkaAdmin(kafka, async (admin) => {
    const ours = (await admin.listGroups()).filter((g) => g.groupId.includes(id) && g.state === 'Empty').map((g) => g.groupId);
    if (ours.length > 0) await admin.deleteGroups(ours);
    return ours;
  }).catch(() => []);
}

/** Polls `probe` until it returns something other than undefined. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, ms = 30_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls a synchronous condition (what a test collected so far) until it holds. */
export function until(cond: () => boolean, ms = 30_000, what = 'condition'): Promise<true> {
  return waitFor(async () => (cond() ? true : undefined), ms, what);
}

/**
 * A service's app as every integration test builds it: the test's log stream (capturedLogs), consumers
 * starting at the topics' ends, ready (plugins loaded) but not listening.
 */
export async function testApp<C, O extends object, A extends { ready(): PromiseLike<unknown> }>(
  build: (config: C, opts: O & ServiceBuildOptions) => Promise<A>,
  config: C,
  extra = {} as O,
): Promise<A> {
  const app = await build(config, { logStream, consumerStartAt: 'end', ...extra });
  await app.ready();
  return app;
}
