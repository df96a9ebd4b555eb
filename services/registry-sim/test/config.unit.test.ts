import { ConfigError } from '@gelombang/platform';
import { loadRegistrySimConfig } from '../src/config';

describe('registry-sim configuration', () => {
  it('has the documented defaults', () => {
    expect(loadRegistrySimConfig({ REGISTRY_API_TOKEN: 'a-long-token' })).toMatchObject({
      HTTP_PORT: 3090,
      REGISTRY_QUOTA_PER_SEC: 100,
      REGISTRY_LATENCY_MS: 20,
      REGISTRY_MODE: 'open',
    });
  });

  it('refuses to start without a token or with a bad mode, quota or latency, naming every key', () => {
    try {
      loadRegistrySimConfig({ REGISTRY_MODE: 'lenient', REGISTRY_QUOTA_PER_SEC: '0', REGISTRY_LATENCY_MS: '-1' });
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const problems = (e as ConfigError).problems.join('\n');
      for (const key of ['REGISTRY_API_TOKEN', 'REGISTRY_MODE', 'REGISTRY_QUOTA_PER_SEC', 'REGISTRY_LATENCY_MS']) expect(problems).toContain(`${key}:`);
    }
  });
});
