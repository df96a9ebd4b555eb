import { z } from 'zod';
import { baseEnv, loadConfig } from '@gelombang/platform';

const positive = z.coerce.number().positive();

/*
 * No PII_* keys: this service never sees personal data in the clear. It keys people by the NIK's
 * blind index that nik.verified.v1 carries (an HMAC computed upstream), which it only compares.
 */
export const enrollmentEnv = z.object({
  ...baseEnv,
  HTTP_PORT: baseEnv.HTTP_PORT.default(3004),
  PG_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('enrollment'),
  /** Bearer token of the operators' endpoints (POST /v1/admin/batches). */
  ADMIN_TOKEN: z.string({ error: 'is required (at least 16 characters)' }).min(16, 'must be at least 16 characters'),
  /**
   * Admission per batch, shared by all replicas (Redis): how many enrollment transactions may reach
   * the batch's row. Sized to what PostgreSQL commits on one hot row, not to the crowd.
   */
  RATE_LIMIT_BATCH_BURST: positive.default(200),
  RATE_LIMIT_BATCH_PER_SEC: positive.default(400),
  /** Up to this many seconds are added at random to a 429's Retry-After, so refused clients do not return in step. */
  RATE_LIMIT_RETRY_JITTER_SEC: z.coerce.number().int().min(0).default(2),
  /** Lifetime of the "batch is full" flag in Redis: the bound on how stale it can be if a clear is lost. */
  FULL_FLAG_TTL_SEC: z.coerce.number().int().positive().default(30),
  /** Seconds a 503 asks the client to wait. */
  RETRY_AFTER_SEC: z.coerce.number().int().positive().default(2),
  CONSUMER_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  CONSUMER_GROUP: z.string().min(1).default('enrollment'),
  /** committed: a new group replays nik.verified.v1 from the start (rebuilds eligibility); end: a new group takes only new events. */
  CONSUMER_START_AT: z.enum(['committed', 'end']).default('committed'),
});

export type EnrollmentConfig = z.infer<typeof enrollmentEnv>;

export function loadEnrollmentConfig(env: NodeJS.ProcessEnv = process.env): EnrollmentConfig {
  return loadConfig(enrollmentEnv, env);
}
