import { z } from 'zod';
import { activeKeyIsKnown, baseEnv, consumerStartAtEnv, loadConfig, piiEnv, sessionVerifyEnv } from '@gelombang/platform';
import type { RegistryClientOptions } from './data-access/registry-client';
import { worstCallsInOneSecond } from './domain/quota';

const ms = z.coerce.number().int().positive();

export const nikEnv = z
  .object({
    ...baseEnv,
    ...piiEnv,
    ...sessionVerifyEnv,
    HTTP_PORT: baseEnv.HTTP_PORT.default(3003),
    PG_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .default('nik')
      .describe("PostgreSQL schema of this service's tables (created by its migrations)."),
    CONSUMER_GROUP: z.string().min(1).default('nik-verification').describe('Kafka consumer group of the nik.verification-requested.v1 consumer.'),
    CONSUMER_START_AT: consumerStartAtEnv(
      'Where a new consumer group starts (an existing one resumes): committed reads the topic from its start, end takes only new events.',
    ),

    REGISTRY_URL: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .default('http://127.0.0.1:3090')
      .describe('Base URL of the population registry (the simulator, services/registry-sim, locally).'),
    REGISTRY_API_TOKEN: z
      .string({ error: 'is required' })
      .min(8, 'must be at least 8 characters')
      .describe('Bearer token presented to the registry, at least 8 characters.'),
    REGISTRY_TIMEOUT_MS: ms.default(2_000).describe('Milliseconds a registry call may take; a timeout counts against the breaker.'),
    REGISTRY_CONCURRENCY: z.coerce
      .number()
      .int()
      .min(1)
      .max(256)
      .default(16)
      .describe("Registry calls in flight at once per process (also the HTTP pool's connections)."),
    REGISTRY_QUOTA_PER_SEC: z.coerce
      .number()
      .positive()
      .default(60)
      .describe("Token-bucket refill of our share of the registry's quota (all replicas), in calls per second."),
    REGISTRY_QUOTA_BURST: z.coerce.number().int().min(1).default(10).describe('Token-bucket capacity: calls that may go out back to back after a quiet spell.'),
    REGISTRY_PARTNER_QUOTA_PER_SEC: z.coerce
      .number()
      .int()
      .positive()
      .default(100)
      .describe("The registry's own limit per wall-clock second, in calls: boot refuses REGISTRY_QUOTA_BURST + ⌈REGISTRY_QUOTA_PER_SEC⌉ − 1 above it."),
    REGISTRY_BREAKER_ERROR_PERCENT: z.coerce.number().min(1).max(100).default(50).describe('Percentage of failed calls in the window that opens the breaker.'),
    REGISTRY_BREAKER_VOLUME: z.coerce.number().int().min(1).default(10).describe('Calls in the window before the breaker may open.'),
    REGISTRY_BREAKER_WINDOW_MS: ms.default(10_000).describe("Milliseconds of the breaker's rolling statistics window."),
    REGISTRY_BREAKER_RESET_MS: ms.default(5_000).describe('Milliseconds the breaker stays open before one probe call (half-open).'),

    CHECK_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(10).describe('Checks claimed per round of the checker.'),
    CHECK_LEASE_MS: ms
      .default(60_000)
      .describe('Milliseconds after which a claimed check whose claimer died returns to the queue; more than twice REGISTRY_TIMEOUT_MS.'),
    CHECK_IDLE_MS: ms.default(500).describe('Milliseconds between polls when nothing is due (new requests wake the checker at once).'),
    CHECK_RETRY_BASE_MS: ms
      .default(1_000)
      .describe('Milliseconds of back-off base after a failed registry call: the retry waits a random time below base × 2^tries (full jitter).'),
    CHECK_RETRY_MAX_MS: ms
      .default(60_000)
      .describe('Milliseconds the back-off is capped at (also how long an undecryptable check is parked); at least CHECK_RETRY_BASE_MS.'),
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
