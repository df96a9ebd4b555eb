import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { RATE_LIMITED, TokenBucket, waitAtMost, type BucketSpec } from '@gelombang/platform';
import type { IntakeConfig } from '../config';
import { ClaimsStore } from '../data-access/claims-store';
import type { RegistrationsRepository } from '../data-access/registrations-repository';
import { RegistrationClaims } from '../domain/registration-claims';
import type { IntakeMetrics } from '../metrics';

declare module 'fastify' {
  interface FastifyInstance {
    /** Admission and "one NIK, one email, one registration" (domain/registration-claims.ts). */
    claims: RegistrationClaims;
  }
}

interface BucketConfig {
  prefix: string;
  client: { burst: number; perSec: number };
  global: { burst: number; perSec: number };
}

/**
 * The admission buckets of a client (its address): its own and the global one. POST /v1/registrations
 * takes from them inside its claim script; the rate-limited routes take from the same keys.
 */
const admissionBuckets =
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
function tokenBucketStore(bucket: TokenBucket, cfg: BucketConfig): FastifyRateLimitStoreCtor {
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

export interface AdmissionOptions {
  config: Pick<
    IntakeConfig,
    | 'REDIS_KEY_PREFIX'
    | 'IDEMPOTENCY_TTL_SEC'
    | 'INTAKE_CLAIM_PENDING_TTL_SEC'
    | 'INTAKE_PENDING_REGISTRATION_TTL_SEC'
    | 'INTAKE_MAX_PENDING_PER_NIK'
    | 'KAFKA_ACK_TIMEOUT_MS'
    | 'RATE_LIMIT_CLIENT_BURST'
    | 'RATE_LIMIT_CLIENT_PER_SEC'
    | 'RATE_LIMIT_GLOBAL_BURST'
    | 'RATE_LIMIT_GLOBAL_PER_SEC'
  >;
  repository: RegistrationsRepository;
  metrics: IntakeMetrics;
  /** Requests that spend no token (the boot warm-up's in-process dry runs). */
  exempt: (req: FastifyRequest) => boolean;
}

/**
 * The intake's admission: token buckets and dedup claims in Redis, with PostgreSQL behind them
 * (RegistrationClaims), and @fastify/rate-limit for the routes that opt in (`config.rateLimit`),
 * counting in the same buckets. A fresh Redis is warmed before the first request when that is quick; a
 * reconnect (perhaps to a Redis that restarted empty) checks again.
 */
export const admissionPlugin = fp<AdmissionOptions>(
  async (app, { config, repository, metrics: m, exempt }) => {
    const buckets: BucketConfig = {
      prefix: config.REDIS_KEY_PREFIX,
      client: { burst: config.RATE_LIMIT_CLIENT_BURST, perSec: config.RATE_LIMIT_CLIENT_PER_SEC },
      global: { burst: config.RATE_LIMIT_GLOBAL_BURST, perSec: config.RATE_LIMIT_GLOBAL_PER_SEC },
    };
    const bucket = new TokenBucket(app.redis, {
      onFallback: () => m.fallback.inc({ use: 'rate_limit' }),
      onSourceChange: (source) =>
        source === 'local' ? app.log.warn('redis unavailable: rate limits now per process') : app.log.info('redis back: rate limits shared again'),
    });
    const claims = new RegistrationClaims({
      claims: new ClaimsStore(app.redis, `${config.REDIS_KEY_PREFIX}intake:`, config.IDEMPOTENCY_TTL_SEC, {
        pendingClaimSec: config.INTAKE_CLAIM_PENDING_TTL_SEC,
        // A live request holds its record at most one publish (the ack timeout) and its clean-up.
        pendingIdempotencySec: Math.ceil(config.KAFKA_ACK_TIMEOUT_MS / 1000) + 10,
        pendingRegistrationSec: config.INTAKE_PENDING_REGISTRATION_TTL_SEC,
        maxPendingPerNik: config.INTAKE_MAX_PENDING_PER_NIK,
      }),
      repository,
      bucket,
      admissionBuckets: admissionBuckets(buckets),
      onFallback: (use) => m.fallback.inc({ use }),
      log: app.log,
    });
    await waitAtMost(claims.warm(), 2_000);
    const onReady = () => claims.redisReady();
    app.redis.on('ready', onReady);
    app.addHook('onClose', async () => {
      app.redis.off('ready', onReady);
      claims.stop();
    });
    app.decorate('claims', claims);

    await app.register(rateLimit, {
      global: false,
      hook: 'onRequest',
      allowList: (req) => exempt(req),
      store: tokenBucketStore(bucket, buckets),
      errorResponseBuilder: () => {
        m.rejected.inc({ code: 'RATE_LIMITED' });
        return RATE_LIMITED();
      },
    });
  },
  { name: 'intake-admission', fastify: '5.x', dependencies: ['gelombang-redis', 'gelombang-postgres'] },
);
