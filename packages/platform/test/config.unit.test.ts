import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, baseEnv, loadConfig, piiEnv } from '../src/config';

const schema = z.object({ ...baseEnv, ...piiEnv });
const good = {
  HTTP_PORT: '3001',
  PII_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  PII_ACTIVE_KEY_ID: 'k1',
  PII_INDEX_KEY: randomBytes(32).toString('base64'),
};

describe('loadConfig', () => {
  it('parses a good environment with defaults and coercion', () => {
    const cfg = loadConfig(schema, good);
    expect(cfg.HTTP_PORT).toBe(3001);
    expect(cfg.KAFKA_BROKERS).toEqual(['localhost:9092']);
    expect(cfg.DATABASE_URL).toBe('postgres://root@127.0.0.1:5432/test');
    expect(cfg.PII_KEYS.k1).toHaveLength(32);
  });

  it('refuses a bad environment, naming every bad key, without echoing secret values', () => {
    const secret = randomBytes(16).toString('base64');
    let caught: unknown;
    try {
      loadConfig(schema, { ...good, HTTP_PORT: 'abc', DATABASE_URL: 'mysql://x', KAFKA_BROKERS: 'nohostport', PII_KEYS: `k1:${secret}` });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.message).toMatch(/^Invalid configuration:/);
    expect(err.problems.map((p) => p.split(':')[0])).toEqual(expect.arrayContaining(['HTTP_PORT', 'DATABASE_URL', 'KAFKA_BROKERS.0', 'PII_KEYS']));
    expect(err.message).toContain('postgres://');
    expect(err.message).not.toContain(secret);
  });

  it('says which required key is missing', () => {
    expect(() => loadConfig(schema, { HTTP_PORT: '1' })).toThrow(/PII_KEYS: is required/);
  });
});
