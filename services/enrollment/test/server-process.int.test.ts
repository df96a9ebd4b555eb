import { join } from 'node:path';
import { request } from 'undici';
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
});
