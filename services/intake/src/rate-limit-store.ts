import type { TokenBucket, BucketSpec } from '@gelombang/platform';

export interface BucketConfig {
  prefix: string;
  client: { burst: number; perSec: number };
  global: { burst: number; perSec: number };
}

/*
 * @fastify/rate-limit's store contract is a fixed-window counter: incr(key) → { current, ttl }, and the
 * plugin answers 429 when current > max. A token bucket fits it when `max` is the burst, `current` is
 * the tokens spent (burst − remaining), and `ttl` is the wait: until the next token when denied (that
 * becomes Retry-After), until the bucket is full otherwise (x-ratelimit-reset). The per-client and the
 * global bucket are decided together in one Redis round trip.
 */
export function tokenBucketStore(bucket: TokenBucket, cfg: BucketConfig) {
  return class TokenBucketStore {
    incr(key: string, cb: (err: Error | null, res?: { current: number; ttl: number }) => void): void {
      const specs: BucketSpec[] = [
        { key: `${cfg.prefix}rl:client:${key}`, capacity: cfg.client.burst, ratePerSec: cfg.client.perSec },
        { key: `${cfg.prefix}rl:global`, capacity: cfg.global.burst, ratePerSec: cfg.global.perSec },
      ];
      bucket.take(specs).then(
        (d) =>
          cb(null, {
            current: d.allowed ? cfg.client.burst - Math.min(d.remaining, cfg.client.burst) : cfg.client.burst + 1,
            ttl: d.allowed ? d.resetMs : Math.max(d.retryAfterMs, 1),
          }),
        (err: Error) => cb(err),
      );
    }

    child(): TokenBucketStore {
      return new TokenBucketStore();
    }
  };
}
