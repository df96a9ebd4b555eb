import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { makeEvent, newId, NIK_VERIFIED_V1, type NikVerifiedV1Data, REGISTRATION_STATUS_CHANGED_V1 } from '@gelombang/contracts';
import { createKafka, EventProducer, type App } from '@gelombang/platform';
import { DATABASE_URL, isolatedEnv, KAFKA_BROKERS, uniqueId, waitFor, testApp } from '@gelombang/testkit';
import { buildApp } from '../../src/app';
import { loadEnrollmentConfig, type EnrollmentConfig } from '../../src/config';

export interface TestEnv {
  id: string;
  schema: string;
  env: Record<string, string>;
  config: EnrollmentConfig;
  adminToken: string;
}

/**
 * A schema, Redis prefix, consumer group and admin token of its own. Admission is wide open by
 * default so that tests about quotas are not about the bucket (the bucket has its own test).
 */
export function testEnv(overrides: Record<string, string> = {}): TestEnv {
  const id = uniqueId();
  const adminToken = randomBytes(24).toString('base64url');
  const env: Record<string, string> = {
    ...isolatedEnv('enrollment', id),
    ADMIN_TOKEN: adminToken,
    CONSUMER_GROUP: `enrollment-test-${id}`,
    CONSUMER_START_AT: 'end',
    RATE_LIMIT_BATCH_BURST: '1000000',
    RATE_LIMIT_BATCH_PER_SEC: '1000000',
    ...overrides,
  };
  return { id, schema: env.PG_SCHEMA!, env, config: loadEnrollmentConfig(env), adminToken };
}

/** Another replica of the same deployment (same schema, Redis prefix and token), with other settings. */
export function replicaOf(t: TestEnv, overrides: Record<string, string>): TestEnv {
  const env = { ...t.env, ...overrides };
  return { ...t, env, config: loadEnrollmentConfig(env) };
}

export const buildTestApp = (t: TestEnv): Promise<App> => testApp(buildApp, t.config);

export interface Person {
  registrationId: string;
  nikIndex: string;
  provinceCode: string;
}

/** A verified person: a fresh registration id and a random blind index (43 base64url chars, like HMAC-SHA256). */
export const person = (nikIndex = randomBytes(32).toString('base64url')): Person => ({ registrationId: newId(), nikIndex, provinceCode: '32' });

/** Publishes nik.verified.v1 as the NIK service does: a CloudEvent keyed by registration id. */
export class VerifiedPublisher {
  private readonly producer = new EventProducer(
    createKafka({ brokers: KAFKA_BROKERS.split(','), clientId: 'enrollment-test', logger: pino({ level: 'silent' }) }),
    {
      ackTimeoutMs: 10_000,
    },
  );

  connect = () => this.producer.connect();
  close = () => this.producer.close();

  publishRaw(key: string, value: string): Promise<void> {
    return this.producer.publish({ topic: NIK_VERIFIED_V1, key, value });
  }

  /** registration.status-changed.v1 as the intake announces a rejection or an expiry. */
  publishStatus(registrationId: string, status: 'rejected_duplicate' | 'expired', reason: string): Promise<void> {
    const data = { registrationId, status, reason, changedAt: new Date().toISOString() };
    return this.producer.publish({
      topic: REGISTRATION_STATUS_CHANGED_V1,
      key: registrationId,
      value: JSON.stringify(makeEvent('id.gelombang.registration.status-changed.v1', 'urn:gelombang:intake', registrationId, data)),
    });
  }

  async publish(people: Person[], attempt = 1): Promise<void> {
    await Promise.all(
      people.map((p) => {
        const data: NikVerifiedV1Data = {
          registrationId: p.registrationId,
          attempt,
          nikIndex: p.nikIndex,
          provinceCode: p.provinceCode,
          verifiedAt: new Date().toISOString(),
        };
        return this.publishRaw(
          p.registrationId,
          JSON.stringify(makeEvent('id.gelombang.nik.verified.v1', 'urn:gelombang:nik-verification', p.registrationId, data)),
        );
      }),
    );
  }
}

/** Publishes the events and waits until the consumer stored every one of these people as eligible. */
export async function makeEligible(publisher: VerifiedPublisher, db: pg.Client, schema: string, people: Person[]): Promise<void> {
  await publisher.publish(people);
  await waitFor(
    async () => {
      const r = await db.query(`SELECT count(*)::int AS n FROM ${schema}.eligibility WHERE registration_id = ANY($1::uuid[])`, [
        people.map((p) => p.registrationId),
      ]);
      return r.rows[0].n === people.length ? true : undefined;
    },
    30_000,
    `${people.length} eligible people`,
  );
}

export async function connectDb(): Promise<pg.Client> {
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  return db;
}

const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

/** A batch body open from a minute ago for an hour, unless told otherwise. */
export const batchBody = (overrides: Record<string, unknown> = {}) => ({
  batchId: `gelombang-${uniqueId()}`,
  name: 'Gelombang uji',
  quota: 10,
  opensAt: iso(-60_000),
  closesAt: iso(3_600_000),
  ...overrides,
});

export async function createBatch(app: App, t: TestEnv, overrides: Record<string, unknown> = {}): Promise<string> {
  const body = batchBody(overrides);
  const res = await app.inject({ method: 'POST', url: '/v1/admin/batches', headers: { authorization: `Bearer ${t.adminToken}` }, payload: body });
  if (res.statusCode !== 201) throw new Error(`batch not created: ${res.statusCode} ${res.body}`);
  return body.batchId;
}

export const enrollBody = (p: Person, batchId: string) => ({ registrationId: p.registrationId, batchId });

/** Counter and rows of a batch, straight from PostgreSQL. */
export async function batchState(db: pg.Client, schema: string, batchId: string): Promise<{ enrolled: number; quota: number; rows: number }> {
  const r = await db.query(
    `SELECT b.enrolled, b.quota, (SELECT count(*)::int FROM ${schema}.enrollments e WHERE e.batch_id = b.batch_id AND e.status = 'active') AS rows
     FROM ${schema}.batches b WHERE b.batch_id = $1`,
    [batchId],
  );
  return r.rows[0];
}
