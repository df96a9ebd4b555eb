import { join } from 'node:path';
import { request } from 'undici';
import { dropSchema, freePort, waitFor, startServerProcess } from '@gelombang/testkit';
import { testEnv } from './helpers/build-test-app';

const SERVER = join(__dirname, '../dist/server.js');

const startServer = (env: Record<string, string>) => startServerProcess(SERVER, env);

describe('nik-verification as a process (server.ts)', () => {
  it('refuses to start on a bad environment, naming every bad key and echoing no secret', async () => {
    const secret = 'c2VjcmV0LXRoYXQtaXMtbm90LTMyLWJ5dGVz';
    const s = startServer({ PII_KEYS: `k1:${secret}`, PII_ACTIVE_KEY_ID: 'k1', REGISTRY_QUOTA_BURST: '500', REGISTRY_URL: 'nope' });
    expect(await s.exited).toBe(1);
    expect(s.output()).toMatch(/^Invalid configuration:/);
    for (const key of ['PII_KEYS', 'PII_INDEX_KEY', 'REGISTRY_API_TOKEN', 'REGISTRY_URL', 'SESSION_VERIFY_KEYS']) expect(s.output()).toContain(`${key}:`);
    expect(s.output()).not.toContain(secret);
  });

  it('starts ready while the registry is unreachable, and on SIGTERM drains and exits 0', async () => {
    const port = await freePort();
    const t = testEnv({ HTTP_PORT: String(port), REGISTRY_URL: `http://127.0.0.1:${await freePort()}`, LOG_LEVEL: 'warn', CONSUMER_START_AT: 'end' });
    const s = startServer(t.env);
    try {
      await waitFor(
        async () => ((await request(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.statusCode === 200 ? true : undefined),
        30_000,
        'ready',
      );
      s.proc.kill('SIGTERM');
      const code = await s.exited;
      expect({ code, log: code === 0 ? '' : s.output().slice(-3000) }).toEqual({ code: 0, log: '' });
    } finally {
      if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
      await dropSchema(t.schema);
    }
  });
});
