import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { RATE_LIMITED, type BucketSpec, type TokenBucket } from '@gelombang/platform';

export interface BucketConfig {
  prefix: string;
  client: { burst: number; perSec: number };
  global: { burst: number; perSec: number };
}

/**
 * The admission buckets of a client (its address): its own and the global one. POST /v1/registrations
 * takes from them inside its claim script; the routes below take from the same keys.
 */
export const admissionBuckets =
  (cfg: BucketConfig) =>
  (client: string): BucketSpec[] => [
    { key: `${cfg.prefix}rl:client:${client}`, capacity: cfg.client.burst, ratePerSec: cfg.client.perSec },
    { key: `${cfg.prefix}rl:global`, capacity: cfg.global.burst, ratePerSec: cfg.global.perSec },
  ];

/*
 * @fastify/rate-limit's store contract is a fixed-window counter: incr(key) → { current, ttl }, and the
 * plugin answers 429 when current > max. A token bucket fits it when `max` is the burst, `current` is
 * the tokens spent (burst − remaining), and `ttl` is the wait: until the next token when denied (that
 * becomes Retry-After), until the bucket is full otherwise (x-ratelimit-reset). The per-client and the
 * global bucket are decided together in one Redis round trip.
 */
export function tokenBucketStore(bucket: TokenBucket, cfg: BucketConfig): FastifyRateLimitStoreCtor {
  const specs = admissionBuckets(cfg);
  return class TokenBucketStore implements FastifyRateLimitStore {
    incr(key: string, cb: (err: Error | null, res?: { current: number; ttl: number }) => void): void {
      bucket.take(specs(key)).then(
        (d) =>
          cb(null, {
            current: d.allowed ? cfg.client.burst - Math.min(d.remaining, cfg.client.burst) : cfg.client.burst + 1,
            ttl: d.allowed ? d.resetMs : Math.max(d.retryAfterMs, 1),
          }),
        (err: Error) => cb(err),
      );
    }

    child(): FastifyRateLimitStore {
      return new TokenBucketStore();
    }
  };
}

export interface IntakeRateLimitOptions {
  bucket: TokenBucket;
  buckets: BucketConfig;
  /** Requests that spend no token (the boot warm-up's in-process dry runs). */
  exempt: (req: FastifyRequest) => boolean;
  onLimited: () => void;
}

/**
 * @fastify/rate-limit for the routes that opt in (`config.rateLimit`), counting in the same Redis token
 * buckets as a registration's claim; per process while Redis is away (TokenBucket's fallback).
 */
export const intakeRateLimit = fp<IntakeRateLimitOptions>(
  async (app, opts) => {
    await app.register(rateLimit, {
      global: false,
      hook: 'onRequest',
      allowList: (req) => opts.exempt(req),
      store: tokenBucketStore(opts.bucket, opts.buckets),
      errorResponseBuilder: () => {
        opts.onLimited();
        return RATE_LIMITED();
      },
    });
  },
  { name: 'intake-rate-limit', fastify: '5.x', dependencies: ['gelombang-redis'] },
);
