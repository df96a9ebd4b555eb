import { randomBytes, randomUUID } from 'node:crypto';
import { isolatedEnv, uniqueId, testApp } from '@gelombang/testkit';
import { PiiCipher, type App } from '@gelombang/platform';
import { generateValidPerson } from '@gelombang/nik';
import { buildApp } from '../../src/app';
import { loadIntakeConfig, type IntakeConfig } from '../../src/config';

export { capturedLogs, DATABASE_URL, dropSchema, KAFKA_BROKERS, logStream, REDIS_URL, waitFor } from '@gelombang/testkit';

export interface TestEnv {
  schema: string;
  redisPrefix: string;
  env: Record<string, string>;
  cipher: PiiCipher;
  config: IntakeConfig;
}

/** Fresh schema, Redis prefix, consumer group and keys: tests never share or drop others' data. */
export function testEnv(overrides: Record<string, string> = {}): TestEnv {
  const id = uniqueId();
  const env = { ...isolatedEnv('intake', id), CONSUMER_GROUP: `intake-test-${id}`, ...overrides };
  const config = loadIntakeConfig(env);
  return {
    schema: env.PG_SCHEMA,
    redisPrefix: env.REDIS_KEY_PREFIX,
    env,
    config,
    cipher: PiiCipher.fromConfig(config),
  };
}

/** Registration day pinned so the age rules in the vectors never drift with the calendar. */
export const TODAY = new Date('2026-11-30T00:00:00Z');

export const buildTestApp = (t: TestEnv): Promise<App> => testApp(buildApp, t.config, { today: () => TODAY });

/**
 * A valid adult with a NIK and email unique to this call (seeded generator, random seed), of age on
 * `today` — TODAY for the in-process apps that pin it; a server process (which cannot) needs the real
 * date, or someone turning 18 or 65 since TODAY would be refused 400.
 */
export function person(overrides: Record<string, unknown> = {}, today = TODAY) {
  const p = generateValidPerson(randomBytes(4).readUInt32BE(0), today);
  return {
    fullName: 'Budi Santoso',
    nik: p.nik,
    email: `budi.${randomUUID().slice(0, 8)}@example.co.id`,
    phone: '0812-3456-7890',
    birthDate: p.birthDate,
    ...overrides,
  };
}
