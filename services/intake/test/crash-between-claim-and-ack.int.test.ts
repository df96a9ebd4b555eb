import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { request } from 'undici';
import { freePort, startServerProcess } from '@gelombang/testkit';
import { DATABASE_URL, REDIS_URL, dropSchema, person, testEnv, waitFor } from './helpers/build-test-app';

const SERVER = join(__dirname, '../dist/server.js');

type Answer = { status: number; body: { registrationId?: string; code?: string }; retryAfter?: string };

async function register(base: string, body: object, key?: string): Promise<Answer> {
  const r = await request(`${base}/v1/registrations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify(body),
  });
  return { status: r.statusCode, body: (await r.body.json()) as Answer['body'], retryAfter: r.headers['retry-after'] as string | undefined };
}

async function ready(base: string) {
  await waitFor(async () => ((await request(`${base}/health/ready`).catch(() => undefined))?.statusCode === 200 ? true : undefined), 30_000, `${base} ready`);
}

/**
 * Issue #13, point 4: a process killed after it claimed a NIK and an email in Redis but before Kafka
 * acknowledged the event used to lock the applicant out (claims kept for ever, the Idempotency-Key
 * "in progress" for 24 h). KAFKA_LINGER_MS=100 holds each publish 100 ms before it is sent, so the
 * kill lands between the claim (seen in Redis) and the produce request.
 */
describe('intake killed (SIGKILL) between the claim and the Kafka acknowledgement', () => {
  it('lets the same person register again — at once without a key, within seconds with the same Idempotency-Key — and ends with one registration each', async () => {
    const t = testEnv({ LOG_LEVEL: 'warn', KAFKA_LINGER_MS: '100', CONSUMER_START_AT: 'end', KAFKA_ACK_TIMEOUT_MS: '2000' });
    const redis = new Redis(REDIS_URL);
    const db = new pg.Client({ connectionString: DATABASE_URL });
    const procs: Array<ReturnType<typeof startServerProcess>> = [];
    const start = async (env: Record<string, string>) => {
      const port = String(await freePort());
      const s = startServerProcess(SERVER, { ...t.env, ...env, HTTP_PORT: port });
      procs.push(s);
      const base = `http://127.0.0.1:${port}`;
      await ready(base);
      return { s, base };
    };
    try {
      await db.connect();
      const first = await start({ CONSUMER_ENABLED: 'false' });
      expect((await register(first.base, person({}, new Date()))).status).toBe(202); // a warm producer: the kill is what this measures

      const withKey = person({}, new Date());
      const withoutKey = person({}, new Date());
      const key = `crash-${Date.now()}`;
      // The email claim: the one a new registration takes (its NIK only counts as pending until the registry matches it).
      const claimKey = (p: { email: string }) => `${t.redisPrefix}intake:email:${t.cipher.blindIndex('email', p.email)}`;
      const inflight = [register(first.base, withKey, key), register(first.base, withoutKey)].map((p) => p.catch(() => undefined));
      await waitFor(async () => ((await redis.exists(claimKey(withKey), claimKey(withoutKey))) === 2 ? true : undefined), 5_000, 'both claims in Redis');
      first.s.proc.kill('SIGKILL');
      expect(await Promise.all(inflight)).toEqual([undefined, undefined]); // no answer: the client does not know
      expect(await first.s.exited).not.toBe(0);

      // What the dead process left lapses by itself: the claims within INTAKE_CLAIM_PENDING_TTL_SEC, the
      // pending Idempotency-Key record within seconds.
      for (const p of [withKey, withoutKey]) expect(await redis.pttl(claimKey(p))).toBeGreaterThan(0);
      const idem = await redis.keys(`${t.redisPrefix}intake:idem:*`);
      expect(idem).toHaveLength(1);
      const idemTtl = await redis.ttl(idem[0]!);
      expect(idemTtl).toBeGreaterThan(0);
      expect(idemTtl).toBeLessThanOrEqual(12);

      const second = await start({ CONSUMER_ENABLED: 'true' });
      const again = await register(second.base, withoutKey);
      expect(again.status).toBe(202);

      const seen: number[] = [];
      const retried = await waitFor(
        async () => {
          const a = await register(second.base, withKey, key);
          seen.push(a.status);
          if (a.status === 202) return a;
          expect(a).toMatchObject({ status: 409, body: { code: 'INTAKE_IDEMPOTENCY_KEY_IN_PROGRESS' }, retryAfter: '1' });
          await new Promise((r) => setTimeout(r, 1_000));
          return undefined;
        },
        30_000,
        'the retry with the same Idempotency-Key accepted',
      );
      expect(retried.body.registrationId).toEqual(expect.any(String));
      expect(new Set(seen.slice(0, -1))).toEqual(new Set(seen.length > 1 ? [409] : []));

      // One registration per person in PostgreSQL, and their claims now permanent.
      const rows = async (p: { nik: string }) =>
        (await db.query(`SELECT registration_id, status FROM ${t.schema}.registrations WHERE nik_index = $1`, [t.cipher.blindIndex('nik', p.nik)]))
          .rows as Array<{ registration_id: string; status: string }>;
      await waitFor(async () => ((await rows(withKey)).length && (await rows(withoutKey)).length ? true : undefined), 30_000, 'both projected');
      await new Promise((r) => setTimeout(r, 500)); // a second event for either would be projected by now
      expect(await rows(withoutKey)).toEqual([{ registration_id: again.body.registrationId, status: 'pending_email_verification' }]);
      expect(await rows(withKey)).toEqual([{ registration_id: retried.body.registrationId, status: 'pending_email_verification' }]);
      await waitFor(async () => ((await redis.pttl(claimKey(withKey))) === -1 && (await redis.pttl(claimKey(withoutKey))) === -1 ? true : undefined), 10_000);

      // And now the address is taken: another registration giving it is answered the same and ends rejected_duplicate.
      const squat = await register(second.base, { ...person({}, new Date()), email: withoutKey.email });
      expect(squat.status).toBe(202);
      await waitFor(async () => {
        const r = await db.query(`SELECT status FROM ${t.schema}.registrations WHERE registration_id = $1`, [squat.body.registrationId]);
        return r.rows[0]?.status === 'rejected_duplicate' ? true : undefined;
      }, 30_000);
    } finally {
      for (const s of procs) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
      await Promise.all(procs.map((s) => s.exited));
      const left = await redis.keys(`${t.redisPrefix}*`);
      if (left.length) await redis.del(...left);
      redis.disconnect();
      await db.end().catch(() => undefined);
      await dropSchema(t.schema);
    }
  });
});
