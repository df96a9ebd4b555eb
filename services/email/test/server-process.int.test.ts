import { join } from 'node:path';
import { startServerProcess } from '@gelombang/testkit';

const SERVER = join(__dirname, '../dist/server.js');

describe('email as a process (server.ts)', () => {
  it('refuses to start on a bad environment: exit 1, every bad key named, no secret echoed', async () => {
    const secret = 'c2VjcmV0LXRoYXQtaXMtbm90LTMyLWJ5dGVz';
    const s = startServerProcess(SERVER, { PII_KEYS: `k1:${secret}`, PII_ACTIVE_KEY_ID: 'k1', MAIL_QUOTA_BURST: '-5', MAIL_SMTP_URL: 'mail.example' });
    expect(await s.exited).toBe(1);
    expect(s.output()).toMatch(/^Invalid configuration:/);
    for (const key of ['PII_KEYS', 'PII_INDEX_KEY', 'MAIL_QUOTA_BURST', 'MAIL_SMTP_URL']) expect(s.output()).toContain(`${key}:`);
    expect(s.output()).not.toContain(secret);
  });
});
