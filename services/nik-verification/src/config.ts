import { z } from 'zod';
import { activeKeyIsKnown, baseEnv, loadConfig, piiEnv } from '@gelombang/platform';
import type { RegistryClientOptions } from './data-access/registry-client';
import { worstCallsInOneSecond } from './domain/quota';

const ms = z.coerce.number().int().positive();

export const nikEnv = z
  .object({
    ...baseEnv,
    ...piiEnv,
    HTTP_PORT: baseEnv.HTTP_PORT.default(3003),
    PG_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('nik'),
    CONSUMER_GROUP: z.string().min(1).default('nik-verification'),
    /** committed: a new group reads the topic from its start; end: a new group takes only new events (an existing one resumes either way). */
    CONSUMER_START_AT: z.enum(['committed', 'end']).default('committed'),

    REGISTRY_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('http://127.0.0.1:3090'),
    REGISTRY_API_TOKEN: z.string({ error: 'is required' }).min(8, 'must be at least 8 characters'),
    REGISTRY_TIMEOUT_MS: ms.default(2_000),
    /** Calls in flight at once (also the HTTP pool's connections). */
    REGISTRY_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
    /** Our share of the partner's quota: token-bucket refill (calls per second, all replicas together). */
    REGISTRY_QUOTA_PER_SEC: z.coerce.number().positive().default(60),
    /** Token-bucket capacity: calls that may go out back to back after a quiet spell. */
    REGISTRY_QUOTA_BURST: z.coerce.number().int().min(1).default(10),
    /** The partner's own limit per wall-clock second: boot refuses a bucket that could exceed it. */
    REGISTRY_PARTNER_QUOTA_PER_SEC: z.coerce.number().int().positive().default(100),
    REGISTRY_BREAKER_ERROR_PERCENT: z.coerce.number().min(1).max(100).default(50),
    /** Calls in the rolling window before the breaker may open. */
    REGISTRY_BREAKER_VOLUME: z.coerce.number().int().min(1).default(10),
    REGISTRY_BREAKER_WINDOW_MS: ms.default(10_000),
    /** How long the breaker stays open before one probe call (half-open). */
    REGISTRY_BREAKER_RESET_MS: ms.default(5_000),

    /** Rows claimed per round of the checker. */
    CHECK_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(10),
    /** A claimed row returns to the queue after this if its claimer died. */
    CHECK_LEASE_MS: ms.default(60_000),
    /** Poll interval when nothing is due (new requests wake the checker at once). */
    CHECK_IDLE_MS: ms.default(500),
    /** Back-off after a failed registry call: a delay drawn below base · 2^tries, capped (full jitter). */
    CHECK_RETRY_BASE_MS: ms.default(1_000),
    CHECK_RETRY_MAX_MS: ms.default(60_000),
  })
  .refine(activeKeyIsKnown, { path: ['PII_ACTIVE_KEY_ID'], message: 'must name one of the PII_KEYS ids' })
  .refine((c) => c.CHECK_RETRY_BASE_MS <= c.CHECK_RETRY_MAX_MS, { path: ['CHECK_RETRY_MAX_MS'], message: 'must be ≥ CHECK_RETRY_BASE_MS' })
  .refine((c) => c.CHECK_LEASE_MS > c.REGISTRY_TIMEOUT_MS * 2, { path: ['CHECK_LEASE_MS'], message: 'must exceed twice REGISTRY_TIMEOUT_MS' })
  .superRefine((c, ctx) => {
    const worst = worstCallsInOneSecond(c.REGISTRY_QUOTA_BURST, c.REGISTRY_QUOTA_PER_SEC);
    if (worst > c.REGISTRY_PARTNER_QUOTA_PER_SEC) {
      ctx.addIssue({
        code: 'custom',
        path: ['REGISTRY_QUOTA_BURST'],
        message: `with REGISTRY_QUOTA_PER_SEC the bucket admits up to ${worst} calls in one second, over REGISTRY_PARTNER_QUOTA_PER_SEC (${c.REGISTRY_PARTNER_QUOTA_PER_SEC}); lower the burst or the rate`,
      });
    }
  });

export type NikConfig = z.infer<typeof nikEnv>;

export function loadNikConfig(env: NodeJS.ProcessEnv = process.env): NikConfig {
  return loadConfig(nikEnv, env);
}

/** The REGISTRY_* settings, as the registry client takes them. */
export function registryClientOptions(c: NikConfig): RegistryClientOptions {
  return {
    url: c.REGISTRY_URL,
    token: c.REGISTRY_API_TOKEN,
    timeoutMs: c.REGISTRY_TIMEOUT_MS,
    connections: c.REGISTRY_CONCURRENCY,
    breaker: {
      errorThresholdPercentage: c.REGISTRY_BREAKER_ERROR_PERCENT,
      volumeThreshold: c.REGISTRY_BREAKER_VOLUME,
      rollingCountTimeout: c.REGISTRY_BREAKER_WINDOW_MS,
      resetTimeout: c.REGISTRY_BREAKER_RESET_MS,
    },
  };
}
