import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import pino from 'pino';
import { makeEvent, REGISTRATION_STATUS_CHANGED_V1 } from '@gelombang/contracts';
import { createKafka, EventProducer, type App } from '@gelombang/platform';
import { buildTestApp, DATABASE_URL, dropSchema, KAFKA_BROKERS, person, testEnv, waitFor, type TestEnv } from './helpers/build-test-app';
import { asApplicant, startPrivateRedis } from '@gelombang/testkit';

const post = (app: App, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/v1/registrations', payload: body, headers });

describe('intake under pressure and partial failure', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  let db: pg.Client;
  beforeAll(async () => {
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
    await db.end();
  });
  async function start(overrides: Record<string, string> = {}, reuse?: TestEnv): Promise<{ t: TestEnv; app: App }> {
    const t = reuse
      ? {
          ...reuse,
          config: {
            ...reuse.config,
            ...testEnv(overrides).config,
            PG_SCHEMA: reuse.schema,
            REDIS_KEY_PREFIX: reuse.redisPrefix,
            CONSUMER_GROUP: reuse.config.CONSUMER_GROUP,
            PII_KEYS: reuse.config.PII_KEYS,
            PII_INDEX_KEY: reuse.config.PII_INDEX_KEY,
          },
        }
      : testEnv(overrides);
    const app = await buildTestApp(t);
    cleanup.push(() => app.close());
    if (!reuse) cleanup.push(() => dropSchema(t.schema));
    return { t, app };
  }
  const rowsForNik = (t: TestEnv, nik: string) =>
    db.query(`SELECT registration_id, status FROM ${t.schema}.registrations WHERE nik_index = $1 ORDER BY created_at`, [t.cipher.blindIndex('nik', nik)]);

  it('over the per-client burst, answers 429 RATE_LIMITED with Retry-After and rate-limit headers', async () => {
    const { app } = await start({ RATE_LIMIT_CLIENT_BURST: '3', RATE_LIMIT_CLIENT_PER_SEC: '0.5', CONSUMER_ENABLED: 'false' });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await post(app, person(), { 'accept-language': 'en' }));
    expect(answers.map((a) => a.statusCode)).toEqual([202, 202, 202, 429, 429]);
    const limited = answers[3]!;
    expect(limited.json()).toEqual({ code: 'RATE_LIMITED', message: expect.stringContaining('Retry-After') });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(2);
    expect(limited.headers['x-ratelimit-limit']).toBe('3');
    expect(answers[0]!.headers['x-ratelimit-remaining']).toBe('2');
    // Another client address has its own bucket.
    const other = await app.inject({ method: 'POST', url: '/v1/registrations', payload: person(), remoteAddress: '10.1.2.3' });
    expect(other.statusCode).toBe(202);
  });

  it('admits a registration in its claim: refused admission claims nothing, and bad requests count against the same buckets', async () => {
    // The synchronous conflict answer (INTAKE_CONFLICT_ANSWER=conflict), so the duplicate below shows its code.
    const { app } = await start({
      RATE_LIMIT_CLIENT_BURST: '2',
      RATE_LIMIT_CLIENT_PER_SEC: '2',
      CONSUMER_ENABLED: 'false',
      INTAKE_CONFLICT_ANSWER: 'conflict',
    });
    const client = '10.9.8.7';
    const send = (payload: unknown, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/v1/registrations',
        payload: payload as any,
        remoteAddress: client,
        headers: { 'accept-language': 'en', ...headers },
      });
    // A bad body is answered 400 with the bucket's headers, and it spent a token.
    const bad = await send({ nik: '123' });
    expect([bad.statusCode, bad.headers['x-ratelimit-limit'], bad.headers['x-ratelimit-remaining']]).toEqual([400, '2', '1']);
    const badKey = await send(person(), { 'idempotency-key': 'bad key with spaces' });
    expect(badKey.statusCode).toBe(400);
    // The bucket is empty now: a valid applicant is refused before anything is claimed…
    const p = person();
    const refused = await send(p);
    expect([refused.statusCode, refused.json().code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    // Until its Retry-After, the refused client is refused before its body is even read (broken JSON
    // would otherwise be a 400), and without asking Redis.
    const early = await app.inject({
      method: 'POST',
      url: '/v1/registrations',
      payload: '{not json',
      headers: { 'content-type': 'application/json' },
      remoteAddress: client,
    });
    expect([early.statusCode, early.json().code, early.headers['x-ratelimit-remaining']]).toEqual([429, 'RATE_LIMITED', '0']);
    expect(Number(early.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another client is not affected.
    expect((await app.inject({ method: 'POST', url: '/v1/registrations', payload: person(), remoteAddress: '10.9.8.6' })).statusCode).toBe(202);
    // …so once tokens are back, the same applicant is accepted (not refused as a duplicate of itself).
    await new Promise((r) => setTimeout(r, 1100));
    const accepted = await send(p);
    expect(accepted.statusCode).toBe(202);
    expect(accepted.headers['x-ratelimit-limit']).toBe('2');
    // A duplicate is admitted (it spent a token) and refused by its claim.
    await new Promise((r) => setTimeout(r, 600));
    const dup = await send(person({ email: p.email }));
    expect([dup.statusCode, dup.json().code]).toEqual([409, 'INTAKE_EMAIL_ALREADY_REGISTERED']);
    expect(dup.headers['x-ratelimit-limit']).toBe('2');
  });

  it('the global admission bucket limits all clients together', async () => {
    const { app } = await start({ RATE_LIMIT_GLOBAL_BURST: '2', RATE_LIMIT_GLOBAL_PER_SEC: '0.01', CONSUMER_ENABLED: 'false' });
    const codes = [];
    for (let i = 0; i < 4; i++)
      codes.push((await app.inject({ method: 'POST', url: '/v1/registrations', payload: person(), remoteAddress: `10.0.0.${i + 1}` })).statusCode);
    expect(codes).toEqual([202, 202, 429, 429]);
  });

  it("bad requests spend their sender's bucket but none of the global capacity real applicants need", async () => {
    const { app } = await start({ RATE_LIMIT_GLOBAL_BURST: '2', RATE_LIMIT_GLOBAL_PER_SEC: '0.01', CONSUMER_ENABLED: 'false' });
    for (let i = 0; i < 5; i++) {
      const bad = await app.inject({ method: 'POST', url: '/v1/registrations', payload: { nik: '123' }, remoteAddress: `10.1.0.${i + 1}` });
      expect(bad.statusCode).toBe(400);
    }
    const codes = [];
    for (let i = 0; i < 3; i++)
      codes.push((await app.inject({ method: 'POST', url: '/v1/registrations', payload: person(), remoteAddress: `10.2.0.${i + 1}` })).statusCode);
    expect(codes).toEqual([202, 202, 429]);
  });

  it('counts IPv6 clients by their /64: new addresses in one /64 share a bucket, another /64 has its own', async () => {
    const { app } = await start({ RATE_LIMIT_CLIENT_BURST: '2', RATE_LIMIT_CLIENT_PER_SEC: '0.01', CONSUMER_ENABLED: 'false' });
    const send = (remoteAddress: string) => app.inject({ method: 'POST', url: '/v1/registrations', payload: person(), remoteAddress });
    const codes = [];
    for (const suffix of ['1', 'a:b:c:d', 'ffff:1:2:3']) codes.push((await send(`2001:db8:1:2:${suffix.includes(':') ? suffix : `::${suffix}`}`)).statusCode);
    expect(codes).toEqual([202, 202, 429]);
    expect((await send('2001:db8:1:3::1')).statusCode).toBe(202);
  });

  it('when Redis stops, still answers 202 (in-process buckets, PostgreSQL dedup), counts it, and still refuses a known email', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(redis.stop);
    const { t, app } = await start({ REDIS_URL: redis.url, RATE_LIMIT_CLIENT_BURST: '100', INTAKE_CONFLICT_ANSWER: 'conflict' });
    const before = person();
    const first = await post(app, before);
    expect(first.statusCode).toBe(202);
    await waitFor(async () => (await rowsForNik(t, before.nik)).rows[0]);

    await redis.stop();
    const during = await post(app, person());
    expect(during.statusCode).toBe(202);
    const dup = await post(app, person({ email: before.email }));
    expect([dup.statusCode, dup.json().code]).toEqual([409, 'INTAKE_EMAIL_ALREADY_REGISTERED']);
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toMatch(/intake_redis_fallback_total\{use="rate_limit",service="intake"\} [1-9]/);
    expect(metrics).toMatch(/intake_redis_fallback_total\{use="dedup",service="intake"\} [1-9]/);
    await waitFor(async () => (await db.query(`SELECT 1 FROM ${t.schema}.registrations WHERE registration_id = $1`, [during.json().registrationId])).rows[0]);
  });

  it('when Redis comes back empty, refuses a known email at once (PostgreSQL) and rebuilds the claims from PostgreSQL', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(redis.stop);
    const { t, app } = await start({ REDIS_URL: redis.url, RATE_LIMIT_CLIENT_BURST: '100', INTAKE_CONFLICT_ANSWER: 'conflict' });
    const known = [person(), person()];
    for (const p of known) expect((await post(app, p)).statusCode).toBe(202);
    for (const p of known) await waitFor(async () => (await rowsForNik(t, p.nik)).rows[0]);

    await redis.restart(); // no persistence: every claim is gone
    // Whether these meet a reconnecting client (PostgreSQL answers), an empty Redis (PostgreSQL answers,
    // a rebuild starts) or the rebuilt claims depends on timing; each path must refuse them.
    const dupOther = await post(app, person({ email: known[0]!.email }), { 'accept-language': 'en' });
    expect([dupOther.statusCode, dupOther.json().code]).toEqual([409, 'INTAKE_EMAIL_ALREADY_REGISTERED']);
    const dupEmail = await post(app, person({ email: known[1]!.email.toUpperCase() }));
    expect([dupEmail.statusCode, dupEmail.json().code]).toEqual([409, 'INTAKE_EMAIL_ALREADY_REGISTERED']);
    const fresh = person();
    expect((await post(app, fresh)).statusCode).toBe(202);

    // The claims are back in Redis (from PostgreSQL, plus the one taken meanwhile), marked complete.
    const client = new Redis(redis.url);
    cleanup.push(async () => client.disconnect());
    await waitFor(async () => ((await client.exists(`${t.redisPrefix}intake:claims:v2:complete`)) ? true : undefined), 15_000, 'the rebuilt claims');
    for (const p of known) expect(await client.exists(`${t.redisPrefix}intake:email:${t.cipher.blindIndex('email', p.email)}`)).toBe(1);
    // One accepted while the client was still reconnecting (PostgreSQL answered) is written to Redis as
    // soon as it answers, whether or not the projector had stored it when the rebuild read PostgreSQL.
    await waitFor(
      async () => ((await client.exists(`${t.redisPrefix}intake:email:${t.cipher.blindIndex('email', fresh.email)}`)) ? true : undefined),
      10_000,
      'the claim taken meanwhile',
    );
    // Warm again: the fast path refuses without asking PostgreSQL.
    const again = await post(app, person({ email: fresh.email }));
    expect(again.statusCode).toBe(409);
  });

  it('a duplicate email that slips past Redis ends as rejected_duplicate, never as two registrations', async () => {
    // Redis down from the start and both requests before the projector ran: both pass the fast path.
    const { t, app } = await start({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_COMMAND_TIMEOUT_MS: '50' });
    const p = person();
    const [a, b] = await Promise.all([post(app, p), post(app, person({ nik: p.nik, birthDate: p.birthDate, email: p.email.toUpperCase() }))]);
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    const rows = await waitFor(async () => {
      const r = await rowsForNik(t, p.nik);
      return r.rows.length === 2 ? r.rows : undefined;
    });
    expect(rows.map((r) => r.status).sort()).toEqual(['pending_email_verification', 'rejected_duplicate']);
    const loser = rows.find((r) => r.status === 'rejected_duplicate')!;
    const view = await waitFor<{ status: string }>(async () => {
      const v = await app.inject({ method: 'GET', url: `/v1/registrations/${loser.registration_id}`, headers: asApplicant(loser.registration_id) });
      return v.statusCode === 200 ? v.json() : undefined;
    });
    expect(view.status).toBe('rejected_duplicate');
  });

  it('when Kafka does not acknowledge in time, answers 503 with Retry-After; the retry keeps one registration', async () => {
    const slow = await start({ KAFKA_ACK_TIMEOUT_MS: '1', CONSUMER_ENABLED: 'false', RETRY_AFTER_SEC: '7' });
    const p = person();
    const res = await post(slow.app, p);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    // Admission was spent before the publish failed: the answer carries the bucket's headers.
    expect(res.headers['x-ratelimit-limit']).toBeDefined();
    expect(res.json().code).toBe('SERVICE_UNAVAILABLE');

    // The same applicant retries against a healthy instance sharing the same stores.
    const healthy = await start({}, slow.t);
    const retry = await post(healthy.app, p);
    expect(retry.statusCode).toBe(202);
    const id = retry.json().registrationId;
    await waitFor(async () => (await rowsForNik(slow.t, p.nik)).rows[0]);
    await new Promise((r) => setTimeout(r, 1_000)); // let a late first event, if any, land too
    const rows = (await rowsForNik(slow.t, p.nik)).rows;
    expect(rows).toEqual([{ registration_id: id, status: 'pending_email_verification' }]);
    // Someone else with that email is answered the same, and ends rejected_duplicate (EMAIL_REGISTERED).
    const other = await post(healthy.app, person({ email: p.email }));
    expect(other.statusCode).toBe(202);
    await waitFor(async () => {
      const r = await db.query(`SELECT status FROM ${slow.t.schema}.registrations WHERE registration_id = $1`, [other.json().registrationId]);
      return r.rows[0]?.status === 'rejected_duplicate' ? true : undefined;
    });
  });

  it('keeps the status projection in step with later stages, ignoring out-of-order and replayed events', async () => {
    const { app } = await start();
    const res = await post(app, person());
    const id = res.json().registrationId;
    const kafka = createKafka({ brokers: KAFKA_BROKERS.split(','), clientId: 'stage-sim', logger: pino({ level: 'silent' }) });
    const producer = new EventProducer(kafka, { ackTimeoutMs: 10_000 });
    await producer.connect();
    const send = (status: 'email_verified' | 'nik_verified') =>
      producer.publish({
        topic: REGISTRATION_STATUS_CHANGED_V1,
        key: id,
        value: JSON.stringify(
          makeEvent('id.gelombang.registration.status-changed.v1', 'urn:test', id, { registrationId: id, status, changedAt: new Date().toISOString() }),
        ),
      });
    await send('nik_verified');
    await send('email_verified'); // older stage arriving late
    await send('nik_verified'); // replay
    await producer.publish({ topic: REGISTRATION_STATUS_CHANGED_V1, key: randomUUID(), value: 'not json' }); // poison
    await producer.close();
    const view = await waitFor(async () => {
      const v = (await app.inject({ method: 'GET', url: `/v1/registrations/${id}`, headers: asApplicant(id) })).json();
      return v.status === 'nik_verified' ? v : undefined;
    });
    expect(view.status).toBe('nik_verified');
    await new Promise((r) => setTimeout(r, 500));
    expect((await app.inject({ method: 'GET', url: `/v1/registrations/${id}`, headers: asApplicant(id) })).json().status).toBe('nik_verified');
  });
});
