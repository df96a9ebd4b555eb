import type pg from 'pg';
import { Agent, request } from 'undici';
import type { App } from '@gelombang/platform';
import { createRedis, redisReady } from '@gelombang/platform';
import { asApplicant, dropSchema, freePort } from '@gelombang/testkit';
import { SeatFlags } from '../src/data-access/seat-flags';
import {
  batchState,
  buildTestApp,
  connectDb,
  createBatch,
  enrollBody,
  makeEligible,
  person,
  replicaOf,
  testEnv,
  VerifiedPublisher,
  type Person,
  type TestEnv,
} from './helpers/build-test-app';

/** mulberry32: a seeded generator, so a failing run can be replayed from its seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
}

describe('the rush: quotas and one-seat-per-person under concurrency (real PostgreSQL, Redis, Kafka)', () => {
  let t: TestEnv;
  let a: App; // consumes nik.verified.v1
  let b: App; // a second replica on the same schema and Redis prefix
  let baseA: string;
  let baseB: string;
  let db: pg.Client;
  let publisher: VerifiedPublisher;
  const agent = new Agent({ connections: 400, pipelining: 1 });

  const post = async (base: string, p: Person, batchId: string) => {
    const r = await request(`${base}/v1/enrollments`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', ...asApplicant(p.registrationId) },
      body: JSON.stringify(enrollBody(p, batchId)),
    });
    const body = (await r.body.json()) as { code?: string; enrollmentId?: string };
    return { status: r.statusCode, code: body.code, body, retryAfter: r.headers['retry-after'] };
  };
  const tally = (answers: Array<{ status: number; code?: string | undefined }>) =>
    answers.reduce<Record<string, number>>((acc, x) => {
      const k = `${x.status} ${x.code ?? ''}`.trim();
      acc[k] = (acc[k] ?? 0) + 1;
      return acc;
    }, {});
  const people = (n: number) => Array.from({ length: n }, () => person());

  beforeAll(async () => {
    t = testEnv({ LOG_LEVEL: 'warn' });
    [a, db] = await Promise.all([buildTestApp(t), connectDb()]);
    b = await buildTestApp(replicaOf(t, { CONSUMER_ENABLED: 'false' }));
    baseA = await a.listen({ host: '127.0.0.1', port: 0 });
    baseB = await b.listen({ host: '127.0.0.1', port: 0 });
    publisher = new VerifiedPublisher();
    await publisher.connect();
  });
  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await Promise.allSettled([publisher?.close(), db?.end(), agent.close()]);
    await dropSchema(t.schema);
  });

  it('300 eligible people at once against a quota of 50: exactly 50 get 201, the rest ENROLLMENT_BATCH_FULL, counter = rows = 50', async () => {
    const crowd = people(300);
    await makeEligible(publisher, db, t.schema, crowd);
    const batchId = await createBatch(a, t, { quota: 50 });
    const answers = await Promise.all(crowd.map((p) => post(baseA, p, batchId)));
    expect(tally(answers)).toEqual({ '201': 50, '409 ENROLLMENT_BATCH_FULL': 250 });
    expect(await batchState(db, t.schema, batchId)).toEqual({ enrolled: 50, quota: 50, rows: 50 });
    const winners = new Set(answers.filter((x) => x.status === 201).map((x) => x.body.enrollmentId));
    const rows = await db.query(`SELECT enrollment_id FROM ${t.schema}.enrollments WHERE batch_id = $1`, [batchId]);
    expect(new Set(rows.rows.map((r) => r.enrollment_id))).toEqual(winners);
    const metrics = (await a.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain(`enrollment_batch_seats_left{batch_id="${batchId}",service="enrollment"} 0`);
  });

  it('two replicas racing the same batch still fill exactly its quota', async () => {
    const crowd = people(200);
    await makeEligible(publisher, db, t.schema, crowd);
    const batchId = await createBatch(a, t, { quota: 37 });
    const answers = await Promise.all(crowd.map((p, i) => post(i % 2 ? baseA : baseB, p, batchId)));
    expect(tally(answers)).toEqual({ '201': 37, '409 ENROLLMENT_BATCH_FULL': 163 });
    expect(await batchState(db, t.schema, batchId)).toEqual({ enrolled: 37, quota: 37, rows: 37 });
    // Both replicas took seats: the race was real, not one replica answering everything from a flag.
    const byReplica = [0, 1].map((r) => answers.filter((x, i) => i % 2 === r && x.status === 201).length);
    expect(byReplica.every((n) => n > 0)).toBe(true);
  });

  it('a replica that cannot reach Redis (no flags, local admission) racing one that can: still exactly the quota', async () => {
    const blind = await buildTestApp(replicaOf(t, { CONSUMER_ENABLED: 'false', REDIS_URL: `redis://127.0.0.1:${await freePort()}` }));
    try {
      const baseC = await blind.listen({ host: '127.0.0.1', port: 0 });
      const crowd = people(120);
      await makeEligible(publisher, db, t.schema, crowd);
      const batchId = await createBatch(a, t, { quota: 20 });
      const answers = await Promise.all(crowd.map((p, i) => post(i % 2 ? baseA : baseC, p, batchId)));
      expect(tally(answers)).toEqual({ '201': 20, '409 ENROLLMENT_BATCH_FULL': 100 });
      expect(await batchState(db, t.schema, batchId)).toEqual({ enrolled: 20, quota: 20, rows: 20 });
      expect((await blind.inject({ method: 'GET', url: '/metrics' })).body).toMatch(
        /enrollment_redis_fallback_total\{use="full_flag",service="enrollment"\} [1-9]/,
      );
    } finally {
      await blind.close();
    }
  });

  it('one person, two registrations, two batches at once: exactly one seat, the other ENROLLMENT_ALREADY_ENROLLED', async () => {
    const pairs = Array.from({ length: 10 }, () => {
      const first = person();
      return [first, person(first.nikIndex)] as const;
    });
    await makeEligible(publisher, db, t.schema, pairs.flat());
    const [x, y] = [await createBatch(a, t, { quota: 100 }), await createBatch(a, t, { quota: 100 })];
    const answers = await Promise.all(pairs.map(([p, q]) => Promise.all([post(baseA, p, x), post(baseB, q, y)])));
    for (const pair of answers) expect(tally(pair)).toEqual({ '201': 1, '409 ENROLLMENT_ALREADY_ENROLLED': 1 });
    const active = await db.query(
      `SELECT nik_index, count(*)::int AS n FROM ${t.schema}.enrollments WHERE status = 'active' AND nik_index = ANY($1) GROUP BY nik_index`,
      [pairs.map(([p]) => p.nikIndex)],
    );
    expect(active.rows.map((r) => r.n)).toEqual(Array(10).fill(1));
    const [sx, sy] = [await batchState(db, t.schema, x), await batchState(db, t.schema, y)];
    expect(sx.enrolled + sy.enrolled).toBe(10);
    expect([sx.enrolled, sy.enrolled]).toEqual([sx.rows, sy.rows]);
  });

  it('once full, answers ENROLLMENT_BATCH_FULL from the Redis flag without touching the batch row; a withdrawal lowers the flag', async () => {
    const [p, q, r] = people(3);
    await makeEligible(publisher, db, t.schema, [p!, q!, r!]);
    const batchId = await createBatch(a, t, { quota: 1 });
    expect((await post(baseA, p!, batchId)).status).toBe(201);

    // Hold the batch row's lock: any request that reached the row would now wait.
    const locker = await connectDb();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM ${t.schema}.batches WHERE batch_id = $1 FOR UPDATE`, [batchId]);
      const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5_000).unref());
      const full = await Promise.race([post(baseB, q!, batchId), hung]);
      expect(full).toMatchObject({ status: 409, code: 'ENROLLMENT_BATCH_FULL' });
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    expect((await b.inject({ method: 'GET', url: '/metrics' })).body).toMatch(
      /enrollment_requests_total\{outcome="ENROLLMENT_BATCH_FULL",answered_by="redis",service="enrollment"\} [1-9]/,
    );

    expect((await b.inject({ method: 'DELETE', url: `/v1/enrollments/${p!.registrationId}`, headers: asApplicant(p!.registrationId) })).statusCode).toBe(200);
    expect((await post(baseA, r!, batchId)).status).toBe(201);
    expect(await batchState(db, t.schema, batchId)).toEqual({ enrolled: 1, quota: 1, rows: 1 });
  });

  it('a full flag read before a withdrawal cannot be raised after it (generation check, real Redis)', async () => {
    const redis = createRedis({ url: t.config.REDIS_URL, commandTimeoutMs: 1_000, name: 'enrollment-test' });
    expect(await redisReady(redis, 5_000)).toBe(true);
    try {
      const flags = new SeatFlags(redis, t.config.REDIS_KEY_PREFIX, 30, (e) => {
        throw e;
      });
      const batchId = `gelombang-flags-${t.id}`;
      const before = await flags.read(batchId);
      expect(before).toEqual({ full: false, generation: '0' });
      await flags.clear(batchId); // a withdrawal committed meanwhile
      expect(await flags.markFull(batchId, before)).toBe(false);
      expect((await flags.read(batchId)).full).toBe(false);
      const fresh = await flags.read(batchId);
      expect(await flags.markFull(batchId, fresh)).toBe(true);
      expect(await flags.read(batchId)).toEqual({ full: true, generation: '1' });
      expect(await redis.ttl(`${t.config.REDIS_KEY_PREFIX}enrollment:{${batchId}}:full`)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('admission: past the per-batch bucket answers 429 RATE_LIMITED with Retry-After, while a retry of a seat already taken is still 200', async () => {
    const slow = await buildTestApp(
      replicaOf(t, { CONSUMER_ENABLED: 'false', RATE_LIMIT_BATCH_BURST: '2', RATE_LIMIT_BATCH_PER_SEC: '0.01', RATE_LIMIT_RETRY_JITTER_SEC: '0' }),
    );
    try {
      const crowd = people(3);
      await makeEligible(publisher, db, t.schema, crowd);
      const batchId = await createBatch(a, t, { quota: 10 });
      const send = (p: Person) =>
        slow.inject({ method: 'POST', url: '/v1/enrollments', payload: enrollBody(p, batchId), headers: asApplicant(p.registrationId) });
      expect((await send(crowd[0]!)).statusCode).toBe(201);
      expect((await send(crowd[1]!)).statusCode).toBe(201);
      const third = await send(crowd[2]!);
      expect([third.statusCode, third.json().code]).toEqual([429, 'RATE_LIMITED']);
      expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await send(crowd[0]!)).statusCode).toBe(200);
      expect(await batchState(db, t.schema, batchId)).toEqual({ enrolled: 2, quota: 10, rows: 2 });
    } finally {
      await slow.close();
    }
  });

  it('property (seeded): random people, duplicate NIKs, retries and batches — no batch over quota, no person in two, no spurious BATCH_FULL', async () => {
    const seed = Number(process.env.ENROLLMENT_SEED ?? Date.now() % 100_000);
    const rnd = prng(seed);
    const rounds = Array.from({ length: 6 }, () => {
      const batches = rnd.int(1, 3);
      const regs: Person[] = [];
      for (let i = rnd.int(4, 12); i > 0; i--) {
        const first = person();
        regs.push(first);
        for (let extra = rnd.int(0, 2); extra > 0; extra--) regs.push(person(first.nikIndex));
      }
      const attempts = regs.flatMap((p) => Array.from({ length: rnd.int(1, 2) }, () => ({ p, batch: rnd.int(0, batches - 1) })));
      return { quotas: Array.from({ length: batches }, () => rnd.int(1, 6)), regs, attempts };
    });
    await makeEligible(
      publisher,
      db,
      t.schema,
      rounds.flatMap((r) => r.regs),
    );

    for (const round of rounds) {
      const ids = await Promise.all(round.quotas.map((quota) => createBatch(a, t, { quota })));
      const answers = await Promise.all(round.attempts.map(({ p, batch }, i) => post(i % 2 ? baseA : baseB, p, ids[batch]!)));
      const context = { seed, quotas: round.quotas, tally: tally(answers) };
      for (const x of answers)
        expect({ ...context, answer: `${x.status} ${x.code ?? ''}` }).toMatchObject({
          answer: expect.stringMatching(/^(201|200) $|^409 ENROLLMENT_(BATCH_FULL|ALREADY_ENROLLED)$/),
        });

      const states = await Promise.all(ids.map((id) => batchState(db, t.schema, id)));
      for (const s of states) {
        expect({ ...context, s }).toEqual({ ...context, s: { ...s, rows: s.enrolled } });
        expect(s.enrolled).toBeLessThanOrEqual(s.quota);
      }
      const perPerson = await db.query(
        `SELECT max(n)::int AS most FROM (SELECT count(*) AS n FROM ${t.schema}.enrollments WHERE status = 'active' AND batch_id = ANY($1) GROUP BY nik_index) x`,
        [ids],
      );
      expect({ ...context, most: perPerson.rows[0].most }).toEqual({ ...context, most: 1 });
      expect({ ...context, created: answers.filter((x) => x.status === 201).length }).toEqual({
        ...context,
        created: states.reduce((n, s) => n + s.enrolled, 0),
      });
      // Nobody withdrew, so BATCH_FULL is only ever true: a batch that refused someone as full is full.
      round.attempts.forEach(({ batch }, i) => {
        if (answers[i]!.code === 'ENROLLMENT_BATCH_FULL') expect({ ...context, batch, ...states[batch]! }).toMatchObject({ enrolled: states[batch]!.quota });
      });
      // Every person with a refusal other than BATCH_FULL holds a seat somewhere.
      const seated = new Set(
        (await db.query(`SELECT nik_index FROM ${t.schema}.enrollments WHERE status = 'active' AND batch_id = ANY($1)`, [ids])).rows.map((r) => r.nik_index),
      );
      round.attempts.forEach(({ p }, i) => {
        if (answers[i]!.code === 'ENROLLMENT_ALREADY_ENROLLED' || answers[i]!.status === 200)
          expect({ ...context, seated: seated.has(p.nikIndex) }).toEqual({ ...context, seated: true });
      });
    }
  });
});
