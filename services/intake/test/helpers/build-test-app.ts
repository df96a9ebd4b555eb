import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { PiiCipher, type App } from '@gelombang/platform';
import { generateValidPerson } from '@gelombang/nik';
import { buildApp } from '../../src/app';
import { loadIntakeConfig, type IntakeConfig } from '../../src/config';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? 'localhost:9092';

/** Every log line any test app wrote, so a suite can assert that no personal data reached a log. */
export const capturedLogs: string[] = [];
export const logStream = new Writable({
  write(chunk, _enc, cb) {
    capturedLogs.push(chunk.toString());
    cb();
  },
});

export interface TestEnv {
  schema: string;
  redisPrefix: string;
  env: Record<string, string>;
  cipher: PiiCipher;
  config: IntakeConfig;
}

/** Fresh schema, Redis prefix, consumer group and keys: tests never share or drop others' data. */
export function testEnv(overrides: Record<string, string> = {}): TestEnv {
  const id = randomUUID().replace(/-/g, '').slice(0, 12);
  const key = randomBytes(32).toString('base64');
  const indexKey = randomBytes(32).toString('base64');
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HTTP_PORT: '0',
    DATABASE_URL,
    REDIS_URL,
    KAFKA_BROKERS,
    PG_SCHEMA: `intake_t_${id}`,
    REDIS_KEY_PREFIX: `test:${id}:`,
    CONSUMER_GROUP: `intake-test-${id}`,
    PII_KEYS: `t1:${key}`,
    PII_ACTIVE_KEY_ID: 't1',
    PII_INDEX_KEY: indexKey,
    ...overrides,
  };
  const config = loadIntakeConfig(env);
  return {
    schema: env.PG_SCHEMA,
    redisPrefix: env.REDIS_KEY_PREFIX,
    env,
    config,
    cipher: new PiiCipher(config.PII_KEYS, config.PII_ACTIVE_KEY_ID, config.PII_INDEX_KEY),
  };
}

/** Registration day pinned so the age rules in the vectors never drift with the calendar. */
export const TODAY = new Date('2026-11-30T00:00:00Z');

export async function buildTestApp(t: TestEnv): Promise<App> {
  const app = await buildApp(t.config, { today: () => TODAY, logStream, consumerStartAt: 'end' });
  await app.ready();
  return app;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A valid adult with a NIK and email unique to this call (seeded generator, random seed). */
export function person(overrides: Record<string, unknown> = {}) {
  const p = generateValidPerson(randomBytes(4).readUInt32BE(0), TODAY);
  return {
    fullName: 'Budi Santoso',
    nik: p.nik,
    email: `budi.${randomUUID().slice(0, 8)}@example.co.id`,
    phone: '0812-3456-7890',
    birthDate: p.birthDate,
    ...overrides,
  };
}
