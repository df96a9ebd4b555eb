import { randomBytes } from 'node:crypto';
import { ConfigError, generateSessionKeys } from '@gelombang/platform';
import { mailQuotaBucket } from '../src/workers/mail-sender';
import { loadEmailConfig } from '../src/config';

const keys = {
  PII_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  PII_ACTIVE_KEY_ID: 'k1',
  PII_INDEX_KEY: randomBytes(32).toString('base64'),
  ...generateSessionKeys(),
};

describe('email config', () => {
  it('has the documented defaults', () => {
    const c = loadEmailConfig(keys);
    expect(c).toMatchObject({
      HTTP_PORT: 3002,
      PG_SCHEMA: 'email',
      CONSUMER_GROUP: 'email-verification',
      CONSUMER_START_AT: 'committed',
      MAIL_SMTP_URL: 'smtp://127.0.0.1:1025',
      MAIL_QUOTA_BURST: 50,
      MAIL_QUOTA_PER_SEC: 50,
      EMAIL_CODE_TTL_SEC: 900,
      EMAIL_MAX_ATTEMPTS: 5,
      EMAIL_RESEND_COOLDOWN_SEC: 60,
      EMAIL_MAX_SENDS: 5,
      SESSION_TTL_SEC: 900,
      SESSION_MAX_AGE_SEC: 86_400,
      SESSION_FRESH_SEC: 600,
    });
    expect(mailQuotaBucket(c)).toEqual({ key: 'gelombang:email:mail-provider', capacity: 35, ratePerSec: 50 });
    expect(mailQuotaBucket({ ...c, MAIL_QUOTA_BURST: 1, MAIL_QUOTA_PER_SEC: 10 }).capacity).toBe(1);
  });

  it('refuses to start on bad values, naming each key and echoing no secret', () => {
    const secret = 'c2hvcnQta2V5';
    let err: unknown;
    try {
      loadEmailConfig({
        ...keys,
        PII_KEYS: `k1:${secret}`,
        MAIL_SMTP_URL: 'http://mail',
        MAIL_QUOTA_PER_SEC: '0',
        EMAIL_MAX_ATTEMPTS: 'many',
        CONSUMER_START_AT: 'beginning',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    for (const key of ['PII_KEYS', 'MAIL_SMTP_URL', 'MAIL_QUOTA_PER_SEC', 'EMAIL_MAX_ATTEMPTS', 'CONSUMER_START_AT']) expect(message).toContain(`${key}:`);
    expect(message).not.toContain(secret);
  });

  it('refuses a signing key whose public half is not among SESSION_VERIFY_KEYS, echoing neither key', () => {
    const other = generateSessionKeys();
    const rotating = { ...keys, SESSION_VERIFY_KEYS: `${other.SESSION_VERIFY_KEYS},${keys.SESSION_VERIFY_KEYS}` };
    expect(loadEmailConfig(rotating).SESSION_VERIFY_KEYS.size).toBe(2);
    let err: unknown;
    try {
      loadEmailConfig({ ...keys, SESSION_VERIFY_KEYS: other.SESSION_VERIFY_KEYS });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^SESSION_SIGNING_KEY: its public half must be one of SESSION_VERIFY_KEYS/)]);
    for (const secret of [keys.SESSION_SIGNING_KEY, other.SESSION_VERIFY_KEYS]) expect((err as Error).message).not.toContain(secret);
  });
});
