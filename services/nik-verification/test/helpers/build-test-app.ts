import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { makeEvent, NIK_VERIFICATION_REQUESTED_V1, REGISTRATION_STATUS_CHANGED_V1 } from '@gelombang/contracts';
import { generateValidPerson } from '@gelombang/nik';
import { createKafka, EventProducer, PiiCipher, type App } from '@gelombang/platform';
import { asApplicant, isolatedEnv, KAFKA_BROKERS, logStream, uniqueId, testApp } from '@gelombang/testkit';
import { request } from 'undici';
// The registry simulator is the partner's stand-in, started in this process on a free port.
import { buildApp as buildSim } from '../../../registry-sim/src/app';
import { loadRegistrySimConfig } from '../../../registry-sim/src/config';
import { buildApp } from '../../src/app';
import { loadNikConfig, type NikConfig } from '../../src/config';

export const REGISTRY_TOKEN = 'test-registry-token';

export interface TestEnv {
  env: Record<string, string>;
  config: NikConfig;
  cipher: PiiCipher;
  schema: string;
}

/** Own schema, Redis prefix, consumer group and keys; fast loop and breaker settings for tests. */
export function testEnv(overrides: Record<string, string> = {}, base?: TestEnv): TestEnv {
  const id = uniqueId();
  const env = {
    ...(base?.env ?? {
      ...isolatedEnv('nik-verification', id),
      CONSUMER_GROUP: `nik-verification-test-${id}`,
      REGISTRY_API_TOKEN: REGISTRY_TOKEN,
      REGISTRY_TIMEOUT_MS: '1000',
      CHECK_LEASE_MS: '5000',
      CHECK_IDLE_MS: '100',
      CHECK_RETRY_BASE_MS: '200',
      CHECK_RETRY_MAX_MS: '1500',
      REGISTRY_BREAKER_VOLUME: '3',
      REGISTRY_BREAKER_RESET_MS: '500',
    }),
    ...overrides,
  };
  const config = loadNikConfig(env);
  return { env, config, schema: config.PG_SCHEMA, cipher: PiiCipher.fromConfig(config) };
}

export const buildTestApp = (t: TestEnv): Promise<App> => testApp(buildApp, t.config);

export interface SimStats {
  requests: number;
  answered: number;
  overQuota: number;
  maxInOneSecond: number;
  faulted: number;
  byResult: Record<'MATCH' | 'NOT_FOUND' | 'DATA_MISMATCH' | 'INACTIVE', number>;
}

export interface Sim {
  url: string;
  stats(): Promise<SimStats>;
  faults(f: { outage?: boolean; errorRate?: number; latencyMs?: number | null }): Promise<void>;
  load(people: Array<{ nik: string; fullName: string; birthDate: string; status?: 'active' | 'inactive' }>, absent?: string[]): Promise<void>;
  close(): Promise<void>;
}

export async function startSim(env: Record<string, string> = {}): Promise<Sim> {
  const app = await buildSim(loadRegistrySimConfig({ REGISTRY_API_TOKEN: REGISTRY_TOKEN, LOG_LEVEL: 'warn', ...env }), { logStream });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const post = async (path: string, body: unknown) => {
    const res = await request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`sim ${path} answered ${res.statusCode}`);
  };
  return {
    url,
    stats: async () => (await (await request(`${url}/_sim/stats`)).body.json()) as SimStats,
    faults: (f) => post('/_sim/faults', f),
    load: (people, absent = []) => post('/_sim/people', { people, absent }),
    close: () => app.close(),
  };
}

/** A valid applicant unique to this call. */
export function person(fullName = 'Siti Nurhaliza') {
  const p = generateValidPerson(randomBytes(4).readUInt32BE(0), new Date());
  return { nik: p.nik, birthDate: p.birthDate, fullName };
}

/** nik.verification-requested.v1 as the email service (attempt 1) or the intake (2, 3 …) publishes it. */
export function requestedEvent(t: TestEnv, p: { nik: string; fullName: string; birthDate: string }, registrationId = randomUUID(), attempt = 1) {
  return makeEvent('id.gelombang.nik.verification-requested.v1', 'urn:test:nik', registrationId, {
    registrationId,
    attempt,
    requestedAt: new Date().toISOString(),
    pii: { nik: t.cipher.encrypt(p.nik, 'nik'), fullName: t.cipher.encrypt(p.fullName, 'fullName'), birthDate: t.cipher.encrypt(p.birthDate, 'birthDate') },
    nikIndex: t.cipher.blindIndex('nik', p.nik),
    provinceCode: p.nik.slice(0, 2),
  });
}

/** A producer of upstream events (the email service and the intake, in these tests). */
export async function upstream() {
  const kafka = createKafka({ brokers: KAFKA_BROKERS.split(','), clientId: 'nik-test-upstream', logger: pino({ level: 'silent' }) });
  const producer = new EventProducer(kafka, { ackTimeoutMs: 10_000 });
  await producer.connect();
  return {
    send: (events: Array<{ subject: string }>) =>
      Promise.all(events.map((e) => producer.publish({ topic: NIK_VERIFICATION_REQUESTED_V1, key: e.subject, value: JSON.stringify(e) }))),
    sendRaw: (key: string, value: string) => producer.publish({ topic: NIK_VERIFICATION_REQUESTED_V1, key, value }),
    /** registration.status-changed.v1 as the intake announces it (a rejection, an expiry). */
    sendStatus: (registrationId: string, status: string, reason?: string) =>
      producer.publish({
        topic: REGISTRATION_STATUS_CHANGED_V1,
        key: registrationId,
        value: JSON.stringify(
          makeEvent('id.gelombang.registration.status-changed.v1', 'urn:gelombang:intake', registrationId, {
            registrationId,
            status,
            ...(reason ? { reason } : {}),
            changedAt: new Date().toISOString(),
          }),
        ),
      }),
    close: () => producer.close(),
  };
}

/** GET /v1/nik-verifications/:id once it answers with `status`. */
/** GET /v1/nik-verifications/:registrationId as its applicant (the registration's own session). */
export async function statusOf(app: App, registrationId: string) {
  const res = await app.inject({ method: 'GET', url: `/v1/nik-verifications/${registrationId}`, headers: asApplicant(registrationId) });
  return { statusCode: res.statusCode, body: res.json() };
}
