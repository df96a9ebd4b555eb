import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres } from '@gelombang/testkit';
import { baseEnv, createService, loadConfig, postgresPlugin, redisPlugin, type App } from '@gelombang/platform';

/*
 * PostgreSQL and Redis fail under a service: refused, killed with connections open, hung (SIGSTOP: the
 * connection stays, nothing answers), too slow (statement_timeout), a full pool. Every one is answered
 * 503 STORE_UNAVAILABLE with Retry-After — in time, never a 500 and never a request left hanging.
 */
describe('a service whose datastore fails (private PostgreSQL and Redis)', () => {
  let pgServer: PrivatePostgres;
  const migrationsDir = mkdtempSync(join(tmpdir(), 'outage-test-'));

  beforeAll(async () => {
    pgServer = await startPrivatePostgres();
  });
  afterAll(async () => {
    await pgServer.destroy();
    rmSync(migrationsDir, { recursive: true, force: true });
  });

  const build = async (env: Record<string, string>, readiness: 'required' | 'degraded' = 'required', redisUrl?: string): Promise<App> => {
    const config = {
      ...loadConfig(z.object({ ...baseEnv }), {
        DATABASE_URL: pgServer.url,
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
        RETRY_AFTER_SEC: '7',
        PG_CONNECT_TIMEOUT_MS: '500',
        PG_QUERY_TIMEOUT_MS: '800',
        PG_STATEMENT_TIMEOUT_MS: '400',
        ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
        ...env,
      }),
      PG_SCHEMA: 'outage',
    };
    const app = await createService(config, { service: 'outage-test' }, async (a) => {
      await a.register(postgresPlugin, { config, migrationsDir, readiness });
      if (redisUrl) await a.register(redisPlugin, { config, whenDown: 'the route answers 503' });
      a.get('/rows', async () => (await a.pg.query<{ n: number }>('SELECT 1 AS n')).rows[0]);
      a.get('/slow', async () => (await a.pg.query('SELECT pg_sleep(3)')).rowCount);
      a.get('/counter', async () => ({ n: await a.redis.incr('outage-test:counter') }));
    });
    await app.ready();
    return app;
  };

  /** The answer, and how long it took (the point of a timeout is that it ends). */
  const get = async (app: App, url: string, lang = 'en') => {
    const t0 = Date.now();
    const r = await app.inject({ url, headers: { 'accept-language': lang } });
    return { status: r.statusCode, body: r.json(), retryAfter: r.headers['retry-after'], ms: Date.now() - t0 };
  };
  const STORE_UNAVAILABLE_EN = {
    code: 'STORE_UNAVAILABLE',
    message: 'The service cannot reach its data right now. Try again after the time given in Retry-After.',
  };

  it('when PostgreSQL is stopped (connections dropped, then refused), answers 503 STORE_UNAVAILABLE with Retry-After, and 200 once it is back', async () => {
    const app = await build({});
    try {
      expect(await get(app, '/rows')).toMatchObject({ status: 200, body: { n: 1 } });
      await pgServer.stop();
      // The pooled connection was dropped by the server's death: "Connection terminated".
      const dropped = await get(app, '/rows');
      expect(dropped).toMatchObject({ status: 503, body: STORE_UNAVAILABLE_EN, retryAfter: '7' });
      // A new connection is refused.
      const refused = await get(app, '/rows', 'id');
      expect(refused).toMatchObject({
        status: 503,
        body: { code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/^Layanan sedang tidak dapat/) },
        retryAfter: '7',
      });
      const ready = await app.inject('/health/ready');
      expect({ status: ready.statusCode, body: ready.json() }).toEqual({
        status: 503,
        body: { status: 'unavailable', checks: { postgres: expect.stringMatching(/^fail: /) } },
      });

      await pgServer.start();
      expect(await get(app, '/rows')).toMatchObject({ status: 200, body: { n: 1 } });
      expect((await app.inject('/health/ready')).statusCode).toBe(200);
    } finally {
      await app.close();
      await pgServer.start().catch(() => undefined);
    }
  });

  it('when PostgreSQL hangs (SIGSTOP), a query on an open connection and a new connection both end in 503 within their timeouts', async () => {
    const app = await build({ PG_POOL_MAX: '2' });
    try {
      expect(await get(app, '/rows')).toMatchObject({ status: 200 });
      pgServer.freeze();
      // The open connection: no answer, PG_QUERY_TIMEOUT_MS (800) ends it; a second request meanwhile
      // needs a new connection, which never completes its startup: PG_CONNECT_TIMEOUT_MS (500).
      const [onOpen, onNew] = await Promise.all([get(app, '/rows'), get(app, '/rows')]);
      for (const answer of [onOpen, onNew]) {
        expect(answer).toMatchObject({ status: 503, body: STORE_UNAVAILABLE_EN, retryAfter: '7' });
        expect(answer.ms).toBeLessThan(10_000); // bounded (a hung server once held requests forever), not a speed goal
      }
      // Readiness answers too: its check times out rather than hang the balancer's probe.
      const ready = await app.inject('/health/ready');
      expect(ready.statusCode).toBe(503);
      pgServer.thaw();
      await new Promise((r) => setTimeout(r, 300));
      // The connection that timed out was thrown away, not handed to the next request.
      expect(await get(app, '/rows')).toMatchObject({ status: 200, body: { n: 1 } });
    } finally {
      pgServer.thaw();
      await app.close();
    }
  });

  it('a statement longer than PG_STATEMENT_TIMEOUT_MS is cancelled by the server and answered 503; the pool stays usable', async () => {
    const app = await build({ PG_QUERY_TIMEOUT_MS: '5000' });
    try {
      const slow = await get(app, '/slow');
      expect(slow).toMatchObject({ status: 503, body: STORE_UNAVAILABLE_EN, retryAfter: '7' });
      expect(await get(app, '/rows')).toMatchObject({ status: 200, body: { n: 1 } });
    } finally {
      await app.close();
    }
  });

  it('a request that finds the pool full for PG_CONNECT_TIMEOUT_MS is answered 503, not queued forever', async () => {
    const app = await build({ PG_POOL_MAX: '1', PG_STATEMENT_TIMEOUT_MS: '2500', PG_QUERY_TIMEOUT_MS: '4000' });
    try {
      const holding = get(app, '/slow'); // holds the one connection for 2.5 s
      await new Promise((r) => setTimeout(r, 100));
      expect(await get(app, '/rows')).toMatchObject({ status: 503, body: STORE_UNAVAILABLE_EN, retryAfter: '7' });
      expect((await holding).status).toBe(503);
    } finally {
      await app.close();
    }
  });

  it("with readiness 'degraded', a PostgreSQL outage keeps readiness 200 and says so", async () => {
    const app = await build({}, 'degraded');
    try {
      await pgServer.stop();
      const ready = await app.inject('/health/ready');
      expect({ status: ready.statusCode, body: ready.json() }).toEqual({
        status: 200,
        body: { status: 'degraded', checks: { postgres: expect.stringMatching(/^degraded: /) } },
      });
      expect(await get(app, '/rows')).toMatchObject({ status: 503, body: STORE_UNAVAILABLE_EN });
    } finally {
      await pgServer.start();
      await app.close();
    }
  });

  it('when Redis is away, a route that needs it answers 503 STORE_UNAVAILABLE with Retry-After, and works again once Redis is back', async () => {
    const redis = await startPrivateRedis();
    const app = await build({}, 'required', redis.url);
    try {
      expect(await get(app, '/counter')).toMatchObject({ status: 200, body: { n: 1 } });
      await redis.stop();
      expect(await get(app, '/counter')).toMatchObject({ status: 503, body: STORE_UNAVAILABLE_EN, retryAfter: '7' });
      await redis.restart();
      const back = Date.now();
      let answer = await get(app, '/counter');
      while (answer.status !== 200 && Date.now() - back < 10_000) {
        await new Promise((r) => setTimeout(r, 100));
        answer = await get(app, '/counter');
      }
      expect(answer).toMatchObject({ status: 200, body: { n: 1 } }); // restarted empty
    } finally {
      await app.close();
      await redis.stop();
    }
  });
});
