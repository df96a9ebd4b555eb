import pg from 'pg';
import { NIK_REJECTED_V1, NIK_VERIFIED_V1 } from '@gelombang/contracts';
import type { App } from '@gelombang/platform';
import { DATABASE_URL, dropSchema, startPrivateRedis, TopicTap, waitFor } from '@gelombang/testkit';
import { buildTestApp, person, requestedEvent, startSim, testEnv, upstream, type TestEnv } from './helpers/build-test-app';

describe('NIK verification under the registry quota, outages and restarts', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  let tap: TopicTap;
  let up: Awaited<ReturnType<typeof upstream>>;
  let db: pg.Client;

  beforeAll(async () => {
    tap = await new TopicTap([NIK_VERIFIED_V1, NIK_REJECTED_V1]).start();
    up = await upstream();
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
    await up?.close();
    await tap?.stop();
    await db?.end();
  });

  async function startAll(simEnv: Record<string, string>, env: Record<string, string> = {}) {
    const sim = await startSim(simEnv);
    cleanup.push(() => sim.close());
    const t = testEnv({ REGISTRY_URL: sim.url, ...env });
    cleanup.push(() => dropSchema(t.schema));
    const app = await buildTestApp(t);
    cleanup.push(() => app.close());
    return { sim, t, app };
  }

  const requests = (t: TestEnv, n: number) => Array.from({ length: n }, () => requestedEvent(t, person()));
  const states = async (t: TestEnv, ids: string[]) =>
    (await db.query(`SELECT state, count(*)::int AS n FROM ${t.schema}.checks WHERE registration_id = ANY($1::uuid[]) GROUP BY state ORDER BY state`, [ids]))
      .rows;
  const allVerified = (t: TestEnv, ids: string[], timeoutMs = 30_000) =>
    waitFor(
      async () => {
        const s = await states(t, ids);
        return s.length === 1 && s[0].state === 'verified' && s[0].n === ids.length ? true : undefined;
      },
      timeoutMs,
      `${ids.length} checks verified`,
    );
  const breaker = async (app: App) => (await app.inject('/v1/nik-verifications/backlog')).json().breaker as string;

  it('60 checks queued at once never exceed the registry quota (10/s) and all are verified', async () => {
    // Our share: refill 8/s, burst 2 → at most 2 + 8 - 1 = 9 calls in any second (the boot check proves it fits 10).
    const { sim, t } = await startAll(
      { REGISTRY_MODE: 'open', REGISTRY_QUOTA_PER_SEC: '10', REGISTRY_LATENCY_MS: '20' },
      { REGISTRY_QUOTA_PER_SEC: '8', REGISTRY_QUOTA_BURST: '2', REGISTRY_PARTNER_QUOTA_PER_SEC: '10' },
    );
    const events = requests(t, 60);
    await up.send(events);
    const ids = events.map((e) => e.data.registrationId);
    await allVerified(t, ids);

    const stats = await sim.stats();
    expect(stats.overQuota).toBe(0);
    expect(stats.maxInOneSecond).toBeLessThanOrEqual(10);
    expect(stats.byResult.MATCH).toBe(60);
    await waitFor(async () => (ids.every((id) => tap.events(NIK_VERIFIED_V1, id).length === 1) ? true : undefined), 10_000, 'events');
  });

  it('during a registry outage checks stay queued (none rejected) and the breaker opens; afterwards all complete', async () => {
    const { sim, t, app } = await startAll({ REGISTRY_MODE: 'open', REGISTRY_LATENCY_MS: '5' });
    await sim.faults({ outage: true });
    const events = requests(t, 10);
    const ids = events.map((e) => e.data.registrationId);
    await up.send(events);

    await waitFor(async () => ((await breaker(app)) === 'open' ? true : undefined), 15_000, 'breaker open');
    // While open, calls stop: only the half-open probes (one per reset interval) reach the registry.
    const s1 = await sim.stats();
    await new Promise((r) => setTimeout(r, 1_200));
    const s2 = await sim.stats();
    expect(s2.requests - s1.requests).toBeLessThanOrEqual(3);
    expect(await states(t, ids)).toEqual([{ state: 'queued', n: 10 }]);
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toMatch(/nik_registry_calls_total\{outcome="unavailable",service="nik-verification"\} [1-9]/);
    expect(metrics).toMatch(/nik_registry_breaker_transitions_total\{to="open",service="nik-verification"\} [1-9]/);
    // A registry outage is not our unreadiness: the queue absorbs it.
    expect((await app.inject('/health/ready')).statusCode).toBe(200);
    const backlog = (await app.inject('/v1/nik-verifications/backlog')).json();
    expect(backlog.queued).toBeGreaterThanOrEqual(10);
    expect(backlog.oldestQueuedAgeSeconds).toBeGreaterThan(0);

    await sim.faults({ outage: false });
    await allVerified(t, ids);
    expect(await breaker(app)).toBe('closed');
    for (const id of ids) expect(tap.events(NIK_REJECTED_V1, id)).toEqual([]);
  });

  it('a registry slower than the timeout gets retried, not rejected', async () => {
    const { sim, t } = await startAll({ REGISTRY_MODE: 'open', REGISTRY_LATENCY_MS: '5' }, { REGISTRY_TIMEOUT_MS: '200', REGISTRY_BREAKER_VOLUME: '50' });
    await sim.faults({ latencyMs: 600 });
    const events = requests(t, 3);
    const ids = events.map((e) => e.data.registrationId);
    await up.send(events);
    await waitFor(
      async () => {
        const r = await db.query(
          `SELECT count(*)::int AS n FROM ${t.schema}.checks WHERE registration_id = ANY($1::uuid[]) AND last_error = 'REGISTRY_TIMEOUT'`,
          [ids],
        );
        return r.rows[0].n === 3 ? true : undefined;
      },
      10_000,
      'timeouts recorded',
    );
    expect(await states(t, ids)).toEqual([{ state: 'queued', n: 3 }]);
    await sim.faults({ latencyMs: null });
    await allVerified(t, ids);
  });

  it('checks survive a restart: queued by one instance, completed by the next', async () => {
    const first = await startAll({ REGISTRY_MODE: 'open', REGISTRY_LATENCY_MS: '5' });
    await first.sim.faults({ outage: true });
    const events = requests(first.t, 8);
    const ids = events.map((e) => e.data.registrationId);
    await up.send(events);
    await waitFor(async () => ((await states(first.t, ids))[0]?.n === 8 ? true : undefined), 15_000, 'checks stored');
    await first.app.close();

    await first.sim.faults({ outage: false });
    // Same schema, Redis prefix, consumer group and keys: the same service, restarted.
    const again = testEnv({}, first.t);
    const app = await buildTestApp(again);
    cleanup.push(() => app.close());
    await allVerified(again, ids);
    await waitFor(async () => (ids.every((id) => tap.events(NIK_VERIFIED_V1, id).length === 1) ? true : undefined), 10_000, 'events after restart');
  });

  it('without Redis (no shared quota) no registry call leaves: checks wait queued, the service stays ready', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(redis.stop);
    const { sim, t, app } = await startAll({ REGISTRY_MODE: 'open', REGISTRY_LATENCY_MS: '5' }, { REDIS_URL: redis.url });
    const warm = requests(t, 1);
    await up.send(warm);
    await allVerified(t, [warm[0]!.data.registrationId]);

    await redis.stop();
    const before = (await sim.stats()).requests;
    const events = requests(t, 4);
    const ids = events.map((e) => e.data.registrationId);
    await up.send(events);
    await waitFor(async () => ((await states(t, ids))[0]?.n === 4 ? true : undefined), 15_000, 'checks stored');
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await sim.stats()).requests).toBe(before);
    expect(await states(t, ids)).toEqual([{ state: 'queued', n: 4 }]);
    expect((await app.inject('/metrics')).body).toMatch(/nik_quota_waits_total\{reason="redis_unavailable",service="nik-verification"\} [1-9]/);
    expect((await app.inject('/health/ready')).statusCode).toBe(200);
  });
});
