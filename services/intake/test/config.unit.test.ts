import { randomBytes } from 'node:crypto';
import { ConfigError } from '@gelombang/platform';
import { testSessionEnv } from '@gelombang/testkit';
import { loadIntakeConfig } from '../src/config';

const keys = {
  PII_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  PII_ACTIVE_KEY_ID: 'k1',
  PII_INDEX_KEY: randomBytes(32).toString('base64'),
  SESSION_VERIFY_KEYS: testSessionEnv().SESSION_VERIFY_KEYS,
};

describe('intake config: KAFKA_TOPIC_PREFIX', () => {
  it('is empty by default (the shared topics), and takes a run prefix ending in a dot', () => {
    expect(loadIntakeConfig(keys).KAFKA_TOPIC_PREFIX).toBe('');
    expect(loadIntakeConfig({ ...keys, KAFKA_TOPIC_PREFIX: 'lt-1a2b3c4d.' }).KAFKA_TOPIC_PREFIX).toBe('lt-1a2b3c4d.');
  });

  it.each(['lt-1a2b', 'LT-1.', '../x.', 'a b.', '.', '-x.'])('refuses %j at boot', (prefix) => {
    expect(() => loadIntakeConfig({ ...keys, KAFKA_TOPIC_PREFIX: prefix })).toThrow(ConfigError);
  });
});

describe('intake config: applicant sessions', () => {
  it('needs the public keys sessions are verified with, and takes 10 minutes as fresh by default', () => {
    const { SESSION_VERIFY_KEYS: _, ...withoutKeys } = keys;
    expect(() => loadIntakeConfig(withoutKeys)).toThrow(/SESSION_VERIFY_KEYS: is required/);
    expect(loadIntakeConfig(keys).SESSION_FRESH_SEC).toBe(600);
  });
});
