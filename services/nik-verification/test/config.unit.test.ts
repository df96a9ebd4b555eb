import { ConfigError } from '@gelombang/platform';
import { testPiiEnv, testSessionEnv } from '@gelombang/testkit';
import { loadNikConfig } from '../src/config';

const valid = { ...testPiiEnv(), SESSION_VERIFY_KEYS: testSessionEnv().SESSION_VERIFY_KEYS, REGISTRY_API_TOKEN: 'a-long-enough-token' };
const problemsOf = (env: Record<string, string>) => {
  try {
    loadNikConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.join('\n');
  }
  throw new Error('configuration accepted');
};

describe('nik-verification configuration', () => {
  it('has defaults that keep the worst second (10 + 60 - 1 = 69 calls) under the simulator default quota of 100', () => {
    expect(loadNikConfig(valid)).toMatchObject({
      HTTP_PORT: 3003,
      PG_SCHEMA: 'nik',
      CONSUMER_GROUP: 'nik-verification',
      REGISTRY_URL: 'http://127.0.0.1:3090',
      REGISTRY_QUOTA_PER_SEC: 60,
      REGISTRY_QUOTA_BURST: 10,
      REGISTRY_PARTNER_QUOTA_PER_SEC: 100,
    });
  });

  it('refuses a bucket that could exceed the partner quota in one second (8/s with burst 8 against 10/s)', () => {
    const problems = problemsOf({ ...valid, REGISTRY_QUOTA_PER_SEC: '8', REGISTRY_QUOTA_BURST: '8', REGISTRY_PARTNER_QUOTA_PER_SEC: '10' });
    expect(problems).toContain(
      'REGISTRY_QUOTA_BURST: with REGISTRY_QUOTA_PER_SEC the bucket admits up to 15 calls in one second, over REGISTRY_PARTNER_QUOTA_PER_SEC (10)',
    );
    expect(() => loadNikConfig({ ...valid, REGISTRY_QUOTA_PER_SEC: '8', REGISTRY_QUOTA_BURST: '2', REGISTRY_PARTNER_QUOTA_PER_SEC: '10' })).not.toThrow();
  });

  it('refuses a missing token or session keys, a bad registry URL, zero rates and inconsistent retry settings, naming every key', () => {
    const problems = problemsOf({
      ...testPiiEnv(),
      REGISTRY_URL: 'ftp://registry',
      REGISTRY_QUOTA_PER_SEC: '0',
      CHECK_RETRY_BASE_MS: '5000',
      CHECK_RETRY_MAX_MS: '1000',
    });
    for (const key of ['REGISTRY_API_TOKEN', 'REGISTRY_URL', 'REGISTRY_QUOTA_PER_SEC', 'SESSION_VERIFY_KEYS']) expect(problems).toContain(`${key}:`);
    expect(problemsOf({ ...valid, CHECK_RETRY_BASE_MS: '5000', CHECK_RETRY_MAX_MS: '1000' })).toContain('CHECK_RETRY_MAX_MS:');
    expect(problemsOf({ ...valid, REGISTRY_TIMEOUT_MS: '40000' })).toContain('CHECK_LEASE_MS:');
  });
});
