import { ConfigError } from '@gelombang/platform';
import { testSessionEnv } from '@gelombang/testkit';
import { loadEnrollmentConfig } from '../src/config';

const { SESSION_VERIFY_KEYS } = testSessionEnv();

describe('enrollment configuration', () => {
  it('has working defaults once ADMIN_TOKEN and SESSION_VERIFY_KEYS are given', () => {
    const c = loadEnrollmentConfig({ ADMIN_TOKEN: 'a-token-of-16-chars', SESSION_VERIFY_KEYS });
    expect(c).toMatchObject({
      HTTP_PORT: 3004,
      PG_SCHEMA: 'enrollment',
      CONSUMER_GROUP: 'enrollment',
      CONSUMER_START_AT: 'committed',
      CONSUMER_ENABLED: true,
      FULL_FLAG_TTL_SEC: 30,
      SESSION_FRESH_SEC: 600,
    });
  });

  it('refuses a missing or short ADMIN_TOKEN, missing session keys and bad numbers, naming each key and echoing no value', () => {
    const secret = 'short-secret';
    let error: unknown;
    try {
      loadEnrollmentConfig({
        ADMIN_TOKEN: secret,
        RATE_LIMIT_BATCH_PER_SEC: '0',
        FULL_FLAG_TTL_SEC: 'soon',
        CONSUMER_START_AT: 'beginning',
        PG_SCHEMA: 'Robert; DROP',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const key of ['ADMIN_TOKEN', 'SESSION_VERIFY_KEYS', 'RATE_LIMIT_BATCH_PER_SEC', 'FULL_FLAG_TTL_SEC', 'CONSUMER_START_AT', 'PG_SCHEMA'])
      expect(message).toContain(`${key}:`);
    expect(message).not.toContain(secret);
    expect(() => loadEnrollmentConfig({})).toThrow(/ADMIN_TOKEN: is required/);
  });
});
