import { join } from 'node:path';
import { startServerProcess } from '@gelombang/testkit';
import { request } from 'undici';
import pg from 'pg';
import { DATABASE_URL, dropSchema, person, testEnv, waitFor } from './helpers/build-test-app';

const SERVER = join(__dirname, '../dist/server.js');

const startServer = (env: Record<string, string>) => startServerProcess(SERVER, env);

describe('intake as a process (server.ts)', () => {
  it('refuses to start on a bad environment, naming every bad key and echoing no secret', async () => {
    const secret = 'c2VjcmV0LXRoYXQtaXMtbm90LTMyLWJ5dGVz';
    const s = startServer({ HTTP_PORT: 'x', PII_KEYS: `k1:${secret}`, PII_ACTIVE_KEY_ID: 'k1', INTAKE_MIN_AGE: '70' });
    expect(await s.exited).toBe(1);
    expect(s.output()).toMatch(/^Invalid configuration:/);
    for (const key of ['HTTP_PORT', 'PII_KEYS', 'PII_INDEX_KEY', 'SESSION_VERIFY_KEYS']) expect(s.output()).toContain(`${key}:`);
    expect(s.output()).not.toContain(secret);
  });

  it('on SIGTERM turns not-ready, finishes the requests it accepted, flushes to Kafka and exits 0', async () => {
    // One client sends 91 registrations here: its bucket is widened so that none is refused for it.
    const t = testEnv({
      HTTP_PORT: String(20000 + Math.floor(Math.random() * 20000)),
      HTTP_SHUTDOWN_DRAIN_MS: '1000',
      HTTP_SHUTDOWN_TIMEOUT_MS: '30000',
      LOG_LEVEL: 'warn',
      CONSUMER_START_AT: 'end',
      RATE_LIMIT_CLIENT_BURST: '1000',
    });
    const base = `http://127.0.0.1:${t.env.HTTP_PORT}`;
    const s = startServer(t.env);
    const db = new pg.Client({ connectionString: DATABASE_URL });
    try {
      await waitFor(async () => {
        const r = await request(`${base}/health/ready`).catch(() => undefined);
        return r?.statusCode === 200 ? true : undefined;
      }, 30_000);
      // Requests first, so the 30 below meet a warm process (connected producer, compiled paths): the
      // point is what SIGTERM does to requests in flight, not how a cold start copes with 30 at once.
      // 60 of them, projected before the SIGTERM, also give the projector's group a committed offset on
      // every partition (all but certainly: 6 × (5/6)^60 ≈ 1e-4 that one gets none). The instance
      // started below resumes from those; on a partition its group never committed it would begin at
      // the end (CONSUMER_START_AT=end) and miss what the first one had no time to project.
      const warm = await Promise.all(
        Array.from({ length: 60 }, () =>
          request(`${base}/v1/registrations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(person({}, new Date())),
          }).then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as { registrationId?: string } })),
        ),
      );
      expect(warm.map((w) => w.status)).toEqual(warm.map(() => 202));
      await db.connect();
      await waitFor(
        async () => {
          const r = await db.query(`SELECT count(*)::int AS n FROM ${t.schema}.registrations WHERE registration_id = ANY($1::uuid[])`, [
            warm.map((w) => w.body.registrationId),
          ]);
          return r.rows[0].n === warm.length ? true : undefined;
        },
        30_000,
        'the warm-up registrations projected',
      );

      const inflight = Array.from({ length: 30 }, () =>
        request(`${base}/v1/registrations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(person({}, new Date())),
        }).then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as { registrationId?: string } })),
      );
      await new Promise((r) => setTimeout(r, 5));
      s.proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
      const ready = await request(`${base}/health/ready`).catch(() => undefined);
      if (ready) expect(ready.statusCode).toBe(503); // draining: balancers stop sending

      const answers = await Promise.all(inflight);
      const code = await s.exited;
      expect({ code, log: code === 0 ? '' : s.output().slice(-3000) }).toEqual({ code: 0, log: '' });
      // Every request got an answer: accepted, or told plainly to come back.
      for (const a of answers) expect([202, 503]).toContain(a.status);
      const accepted = answers.filter((a) => a.status === 202).map((a) => a.body.registrationId!);
      expect(accepted.length).toBeGreaterThan(0);

      // The accepted ones were on Kafka before the process left: the projector (the old instance before
      // it stopped, or this fresh one) gets every one of them into PostgreSQL.
      const againPort = String(Number(t.env.HTTP_PORT) + 1);
      const again = startServer({ ...t.env, HTTP_PORT: againPort });
      const n = await waitFor(async () => {
        const r = await db.query(`SELECT count(*)::int AS n FROM ${t.schema}.registrations WHERE registration_id = ANY($1::uuid[])`, [accepted]);
        return r.rows[0].n === accepted.length ? r.rows[0].n : undefined;
      }, 30_000);
      expect(n).toBe(accepted.length);
      await waitFor(async () => ((await request(`http://127.0.0.1:${againPort}/health/ready`).catch(() => undefined))?.statusCode === 200 ? true : undefined));
      again.proc.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    } finally {
      if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
      await db.end().catch(() => undefined);
      await dropSchema(t.schema);
    }
  });
});
