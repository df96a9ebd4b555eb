import { spawn } from 'node:child_process';
import { join } from 'node:path';

const SERVER = join(__dirname, '../dist/server.js');

describe('email as a process (server.ts)', () => {
  it('refuses to start on a bad environment: exit 1, every bad key named, no secret echoed', async () => {
    const secret = 'c2VjcmV0LXRoYXQtaXMtbm90LTMyLWJ5dGVz';
    const proc = spawn(process.execPath, [SERVER], {
      env: { PATH: process.env.PATH ?? '', PII_KEYS: `k1:${secret}`, PII_ACTIVE_KEY_ID: 'k1', MAIL_QUOTA_BURST: '-5', MAIL_SMTP_URL: 'mail.example' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(code).toBe(1);
    expect(out).toMatch(/^Invalid configuration:/);
    for (const key of ['PII_KEYS', 'PII_INDEX_KEY', 'MAIL_QUOTA_BURST', 'MAIL_SMTP_URL']) expect(out).toContain(`${key}:`);
    expect(out).not.toContain(secret);
  });
});
