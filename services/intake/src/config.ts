import { z } from 'zod';
import { activeKeyIsKnown, baseEnv, loadConfig, piiEnv } from '@gelombang/platform';

const positive = z.coerce.number().positive();

export const intakeEnv = z
  .object({
    ...baseEnv,
    ...piiEnv,
    HTTP_PORT: baseEnv.HTTP_PORT.default(3001),
    /** `false`, `true`, `loopback`, or a comma list of proxy addresses/CIDRs whose X-Forwarded-For we believe. */
    HTTP_TRUST_PROXY: z.string().default('false'),
    PG_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('intake'),
    INTAKE_MIN_AGE: z.coerce.number().int().min(0).default(18),
    INTAKE_MAX_AGE: z.coerce.number().int().max(150).default(64),
    /** Per client IP on POST /v1/registrations. Generous: many people share one carrier-NAT address. */
    RATE_LIMIT_CLIENT_BURST: positive.default(60),
    RATE_LIMIT_CLIENT_PER_SEC: positive.default(10),
    /** Admission for the whole service (all replicas share it): sized to the measured capacity. */
    RATE_LIMIT_GLOBAL_BURST: positive.default(4000),
    RATE_LIMIT_GLOBAL_PER_SEC: positive.default(2500),
    /** How long a finished Idempotency-Key is remembered. */
    IDEMPOTENCY_TTL_SEC: z.coerce.number().int().positive().default(24 * 3600),
    /** Seconds a 503 asks the client to wait. */
    RETRY_AFTER_SEC: z.coerce.number().int().positive().default(5),
    /** How many times an applicant may correct a NIK the registry rejected. */
    INTAKE_MAX_NIK_CORRECTIONS: z.coerce.number().int().min(0).default(2),
    /** Dry-run registrations through the route before listening, so the JIT has compiled it (0: none). */
    INTAKE_WARMUP_REQUESTS: z.coerce.number().int().min(0).max(100_000).default(3000),
    CONSUMER_ENABLED: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
    CONSUMER_GROUP: z.string().min(1).default('intake-projector'),
    /** committed: a new group replays the topics from the start (rebuilds the projection); end: a new group takes only new events (an existing one resumes either way). */
    CONSUMER_START_AT: z.enum(['committed', 'end']).default('committed'),
    /**
     * Put in front of every topic this intake writes and reads: an isolated run (the load suite's private
     * intake) keeps its events out of the shared topics, where the running cluster's consumers would
     * dead-letter them (sealed with keys they do not hold). Empty in every deployment.
     */
    KAFKA_TOPIC_PREFIX: z
      .string()
      .regex(/^([a-z0-9][a-z0-9-]*\.)?$/, 'empty, or lower-case letters, digits and dashes ending in a dot')
      .default(''),
  })
  .refine(activeKeyIsKnown, { path: ['PII_ACTIVE_KEY_ID'], message: 'must name one of the PII_KEYS ids' })
  .refine((c) => c.INTAKE_MIN_AGE <= c.INTAKE_MAX_AGE, { path: ['INTAKE_MAX_AGE'], message: 'must be ≥ INTAKE_MIN_AGE' });

export type IntakeConfig = z.infer<typeof intakeEnv>;

export function loadIntakeConfig(env: NodeJS.ProcessEnv = process.env): IntakeConfig {
  return loadConfig(intakeEnv, env);
}
