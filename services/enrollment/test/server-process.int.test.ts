import { join } from 'node:path';
import { Agent, request } from 'undici';
import { dropSchema, freePort, waitFor, startServerProcess } from '@gelombang/testkit';
import { testEnv } from './helpers/build-test-app';

const SERVER = join(__dirname, '../dist/server.js');

const startServer = (env: Record<string, string>) => startServerProcess(SERVER, env);

describe('enrollment as a process (server.ts)', () => {
  it('refuses to start on a bad environment, naming every bad key and echoing no secret', async () => {
    const s = startServer({ HTTP_PORT: 'x', ADMIN_TOKEN: 'too-short', RATE_LIMIT_BATCH_BURST: '-1' });
    expect(await s.exited).toBe(1);
    expect(s.output()).toMatch(/^Invalid configuration:/);
    for (const key of ['HTTP_PORT', 'ADMIN_TOKEN', 'RATE_LIMIT_BATCH_BURST', 'SESSION_VERIFY_KEYS']) expect(s.output()).toContain(`${key}:`);
    expect(s.output()).not.toContain('too-short');
  });

  it('serves until SIGTERM, then turns not-ready, closes everything and exits 0', async () => {
    const t = testEnv({ HTTP_PORT: String(await freePort()), HTTP_SHUTDOWN_DRAIN_MS: '300', LOG_LEVEL: 'warn' });
    const base = `http://127.0.0.1:${t.env.HTTP_PORT}`;
    const s = startServer(t.env);
    try {
      await waitFor(async () => ((await request(`${base}/health/ready`).catch(() => undefined))?.statusCode === 200 ? true : undefined), 30_000, 'ready');
      const list = await request(`${base}/v1/batches`);
      expect(list.statusCode).toBe(200);
      expect(await list.body.json()).toEqual({ batches: [] });
      s.proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
      const ready = await request(`${base}/health/ready`).catch(() => undefined);
      if (ready) expect(ready.statusCode).toBe(503);
      const code = await s.exited;
      expect({ code, log: code === 0 ? '' : s.output().slice(-3000) }).toEqual({ code: 0, log: '' });
    } finally {
      if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
      await dropSchema(t.schema);
    }
  });

  it('on SIGTERM under load keeps serving through the drain (readiness 503, Connection: close), answers every request it took, and exits 0', async () => {
    const DRAIN_MS = 1_500;
    const t = testEnv({ HTTP_PORT: String(await freePort()), HTTP_SHUTDOWN_DRAIN_MS: String(DRAIN_MS), LOG_LEVEL: 'warn' });
    const base = `http://127.0.0.1:${t.env.HTTP_PORT}`;
    const s = startServer(t.env);
    // Keep-alive connections, as a balancer's pool holds them.
    const agent = new Agent({ connections: 8 });
    try {
      await waitFor(async () => ((await request(`${base}/health/ready`).catch(() => undefined))?.statusCode === 200 ? true : undefined), 30_000, 'ready');
      let sigtermAt = 0;
      let stop = false;
      const answers: Array<{ at: number; status: number; close: boolean }> = [];
      const failures: Array<{ at: number; code: string }> = [];
      const readiness: Array<{ at: number; status: number }> = [];
      // Eight clients in a loop on /v1/batches (a PostgreSQL read), until the process is gone.
      const load = Array.from({ length: 8 }, async () => {
        while (!stop) {
          try {
            const r = await request(`${base}/v1/batches`, { dispatcher: agent });
            await r.body.dump();
            answers.push({ at: Date.now(), status: r.statusCode, close: r.headers.connection === 'close' });
          } catch (e) {
            failures.push({ at: Date.now(), code: (e as { code?: string }).code ?? (e as Error).name });
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      });
      const probe = (async () => {
        while (!stop) {
          const r = await request(`${base}/health/ready`).catch(() => undefined);
          if (r) {
            await r.body.dump();
            readiness.push({ at: Date.now(), status: r.statusCode });
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await new Promise((r) => setTimeout(r, 500));
      sigtermAt = Date.now();
      s.proc.kill('SIGTERM');
      const code = await s.exited;
      stop = true;
      await Promise.all([...load, probe]);
      const drainEnd = sigtermAt + DRAIN_MS;
      // Within the drain (with 200 ms of slack for the signal's delivery): still served, readiness 503, told to reconnect.
      const inDrain = answers.filter((a) => a.at > sigtermAt + 200 && a.at < drainEnd - 200);
      expect(inDrain.length).toBeGreaterThan(0);
      expect(new Set(inDrain.map((a) => `${a.status} close=${a.close}`))).toEqual(new Set(['200 close=true']));
      expect(readiness.filter((r) => r.at > sigtermAt + 200).map((r) => r.status)).toContain(503);
      expect(readiness.filter((r) => r.at > sigtermAt + 200 && r.status !== 503)).toEqual([]);
      // Every answer is a success or, once closing, a 503: never a 500 nor a request dropped mid-way before the drain ended.
      expect(answers.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);
      expect(failures.filter((f) => f.at < drainEnd)).toEqual([]);
      expect({ code, log: code === 0 ? '' : s.output().slice(-3000) }).toEqual({ code: 0, log: '' });
    } finally {
      if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
      await agent.close();
      await dropSchema(t.schema);
    }
  });
});
