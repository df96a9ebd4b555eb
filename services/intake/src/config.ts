import { z } from 'zod';
import { activeKeyIsKnown, baseEnv, consumerStartAtEnv, flagEnv, loadConfig, piiEnv, sessionVerifyEnv } from '@gelombang/platform';

const positive = z.coerce.number().positive();

export const intakeEnv = z
  .object({
    ...baseEnv,
    ...piiEnv,
    ...sessionVerifyEnv,
    HTTP_PORT: baseEnv.HTTP_PORT.default(3001),
    HTTP_TRUST_PROXY: z
      .string()
      .default('false')
      .describe('Whose X-Forwarded-For sets the client IP: false, true, loopback, or a comma list of proxy addresses/CIDRs.'),
    PG_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .default('intake')
      .describe("PostgreSQL schema of this service's tables (created by its migrations)."),
    INTAKE_MIN_AGE: z.coerce.number().int().min(0).default(18).describe("Youngest applicant accepted, in years (the NIK's birth date against today)."),
    INTAKE_MAX_AGE: z.coerce.number().int().max(150).default(64).describe('Oldest applicant accepted, in years; at least INTAKE_MIN_AGE.'),
    /** Generous: many people share one carrier-NAT address. */
    RATE_LIMIT_CLIENT_BURST: positive.default(60).describe('Token-bucket capacity per client IP on POST /v1/registrations, in requests.'),
    RATE_LIMIT_CLIENT_PER_SEC: positive.default(10).describe('Token-bucket refill per client IP on POST /v1/registrations, in requests per second.'),
    /** Sized to the measured capacity. */
    RATE_LIMIT_GLOBAL_BURST: positive.default(4000).describe('Token-bucket capacity of the whole service (all replicas, shared in Redis), in requests.'),
    RATE_LIMIT_GLOBAL_PER_SEC: positive.default(2500).describe('Token-bucket refill of the whole service (all replicas), in requests per second.'),
    IDEMPOTENCY_TTL_SEC: z.coerce
      .number()
      .int()
      .positive()
      .default(24 * 3600)
      .describe('Seconds a finished Idempotency-Key is remembered.'),
    INTAKE_CLAIM_PENDING_TTL_SEC: z.coerce
      .number()
      .int()
      .min(30)
      .default(900)
      .describe(
        "Seconds a NIK/email claim lives until Kafka's acknowledgement (or the projector) makes it permanent: what a crash between the two leaves lapses by itself.",
      ),
    INTAKE_MAX_PENDING_PER_NIK: z.coerce
      .number()
      .int()
      .min(1)
      .max(20)
      .default(3)
      .describe('Most pending registrations that may name one NIK before the registry matches one of them (which then holds it).'),
    INTAKE_PENDING_REGISTRATION_TTL_SEC: z.coerce
      .number()
      .int()
      .positive()
      .default(72 * 3600)
      .describe("Seconds a registration may stay unverified: it counts against its NIK's pending bound meanwhile, and then expires (releasing its email)."),
    INTAKE_RETENTION_SEC: z.coerce
      .number()
      .int()
      .positive()
      .default(30 * 24 * 3600)
      .describe(
        'Seconds after a registration ended expired, duplicate or rejected by the registry (and did not move) before its sealed personal data is erased.',
      ),
    INTAKE_RETENTION_POLL_MS: z.coerce
      .number()
      .int()
      .positive()
      .default(60_000)
      .describe('Milliseconds between rounds of the expiry and retention job (projector processes only).'),
    INTAKE_CONFLICT_ANSWER: z
      .enum(['accepted', 'conflict'])
      .default('accepted')
      .describe(
        'accepted: a registration naming a held NIK or a registered email is answered 202 like any other (no yes/no oracle) and ends rejected_duplicate; conflict: the old synchronous 409.',
      ),
    INTAKE_MAX_NIK_CORRECTIONS: z.coerce
      .number()
      .int()
      .min(0)
      .default(2)
      .describe('Times an applicant may correct a NIK the registry rejected (POST /v1/registrations/:id/nik).'),
    /** Decision 0011. */
    INTAKE_WARMUP_REQUESTS: z.coerce
      .number()
      .int()
      .min(0)
      .max(100_000)
      .default(3000)
      .describe('Dry-run registrations sent through the route before listening, so the JIT has compiled it (0: none).'),
    CONSUMER_ENABLED: flagEnv('true').describe('Run the projector (registration topics into PostgreSQL) in this process.'),
    CONSUMER_GROUP: z.string().min(1).default('intake-projector').describe("The projector's Kafka consumer group (its status consumer adds -status)."),
    CONSUMER_START_AT: consumerStartAtEnv(
      'Where a new consumer group starts (an existing one resumes): committed replays the topics (rebuilds the projection), end takes only new events.',
    ),
    /**
     * An isolated run (the load suite's private intake) keeps its events out of the shared topics, where
     * the running cluster's consumers would dead-letter them (sealed with keys they do not hold).
     */
    KAFKA_TOPIC_PREFIX: z
      .string()
      .regex(/^([a-z0-9][a-z0-9-]*\.)?$/, 'empty, or lower-case letters, digits and dashes ending in a dot')
      .default('')
      .describe('Put in front of every topic this intake writes and reads, e.g. run1. (empty in every deployment).'),
  })
  .refine(activeKeyIsKnown, { path: ['PII_ACTIVE_KEY_ID'], message: 'must name one of the PII_KEYS ids' })
  .refine((c) => c.INTAKE_MIN_AGE <= c.INTAKE_MAX_AGE, { path: ['INTAKE_MAX_AGE'], message: 'must be ≥ INTAKE_MIN_AGE' });

export type IntakeConfig = z.infer<typeof intakeEnv>;

export function loadIntakeConfig(env: NodeJS.ProcessEnv = process.env): IntakeConfig {
  return loadConfig(intakeEnv, env);
}
