import { z } from 'zod';
import { baseEnv, consumerStartAtEnv, flagEnv, loadConfig, sessionVerifyEnv } from '@gelombang/platform';

const positive = z.coerce.number().positive();

/*
 * No PII_* keys: this service never sees personal data in the clear. It keys people by the NIK's
 * blind index that nik.verified.v1 carries (an HMAC computed upstream), which it only compares.
 */
export const enrollmentEnv = z.object({
  ...baseEnv,
  ...sessionVerifyEnv,
  HTTP_PORT: baseEnv.HTTP_PORT.default(3004),
  PG_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('enrollment')
    .describe("PostgreSQL schema of this service's tables (created by its migrations)."),
  ADMIN_TOKEN: z
    .string({ error: 'is required (at least 16 characters)' })
    .min(16, 'must be at least 16 characters')
    .describe("Bearer token of the operators' endpoints (POST /v1/admin/batches), at least 16 characters."),
  /** Sized to what PostgreSQL commits on one hot row, not to the crowd. */
  RATE_LIMIT_BATCH_BURST: positive
    .default(200)
    .describe("Token-bucket capacity per batch (all replicas, shared in Redis), in enrollment attempts that may reach the batch's row."),
  RATE_LIMIT_BATCH_PER_SEC: positive.default(400).describe('Token-bucket refill per batch (all replicas), in attempts per second; past it, 429.'),
  RATE_LIMIT_RETRY_JITTER_SEC: z.coerce
    .number()
    .int()
    .min(0)
    .default(2)
    .describe("Up to this many seconds are added at random to a 429's Retry-After, so refused clients do not return in step."),
  FULL_FLAG_TTL_SEC: z.coerce
    .number()
    .int()
    .positive()
    .default(30)
    .describe('Seconds the "batch is full" flag lives in Redis: the bound on how stale it can be if a clear is lost.'),
  RETRY_AFTER_SEC: baseEnv.RETRY_AFTER_SEC.default(2),
  CONSUMER_ENABLED: flagEnv('true').describe('Consume nik.verified.v1 (eligibility) in this process.'),
  CONSUMER_GROUP: z.string().min(1).default('enrollment').describe('Kafka consumer group of the nik.verified.v1 consumer.'),
  CONSUMER_START_AT: consumerStartAtEnv(
    'Where a new consumer group starts (an existing one resumes): committed replays the topic (rebuilds eligibility), end takes only new events.',
  ),
});

export type EnrollmentConfig = z.infer<typeof enrollmentEnv>;

export function loadEnrollmentConfig(env: NodeJS.ProcessEnv = process.env): EnrollmentConfig {
  return loadConfig(enrollmentEnv, env);
}
