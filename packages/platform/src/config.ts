import { z } from 'zod';

/** Thrown at boot when the environment does not satisfy a service's schema. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses `env` with `schema` once, at boot. Values are never echoed back in the message:
 * some of them are keys.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join('.') || '(environment)';
    return `${key}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}

const port = z.coerce.number().int().min(0).max(65535);
const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
  );

/** Environment keys every service shares, grouped by prefix. Services extend this object. */
export const baseEnv = {
  NODE_ENV: z
    .enum(['development', 'test', 'production'])
    .default('development')
    .describe('Kind of deployment (validated, but no service behaves differently on it today).'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('Lowest level of the log lines written (JSON on stdout).'),
  HTTP_HOST: z.string().min(1).default('127.0.0.1').describe('Address the HTTP server listens on (0.0.0.0 in containers).'),
  HTTP_PORT: port.describe('TCP port the HTTP server listens on (0: any free port).'),
  HTTP_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(16 * 1024)
    .describe('Largest request body accepted, in bytes; a larger one is answered 413.'),
  HTTP_SHUTDOWN_DRAIN_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(5_000)
    .describe(
      'Milliseconds the service keeps serving after a stop signal, readiness 503 and Connection: close on every answer, so balancers and keep-alive clients move away before it closes (0: none).',
    ),
  HTTP_SHUTDOWN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('Milliseconds the close after the drain may take before the process exits anyway.'),
  RETRY_AFTER_SEC: z.coerce
    .number()
    .int()
    .positive()
    .default(5)
    .describe('Seconds a 503 asks the client to wait (Retry-After): Kafka, PostgreSQL or Redis unavailable.'),
  DATABASE_URL: url(['postgres:', 'postgresql:'])
    .default('postgres://root@127.0.0.1:5432/test')
    .describe('PostgreSQL connection URL (postgres:// or postgresql://).'),
  PG_POOL_MAX: z.coerce.number().int().positive().default(10).describe('Most PostgreSQL connections in the pool of one process.'),
  PG_CONNECT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(2_000)
    .describe('Milliseconds to get a PostgreSQL connection (a new one, or a free one from a full pool) before the request answers 503.'),
  PG_STATEMENT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(5_000)
    .describe("PostgreSQL's statement_timeout for the pool's sessions: the server cancels a statement running longer (migrations are exempt)."),
  PG_QUERY_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(6_000)
    .describe(
      'Milliseconds the client waits for any answer to a query (a hung or unreachable server) before it drops the connection; keep it above PG_STATEMENT_TIMEOUT_MS.',
    ),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379').describe('Redis URL (redis://, or rediss:// for TLS).'),
  REDIS_KEY_PREFIX: z.string().default('gelombang:').describe('Put in front of every Redis key the service writes.'),
  REDIS_COMMAND_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(100)
    .describe('Milliseconds after which a Redis command fails and the service takes its fallback.'),
  KAFKA_BROKERS: z
    .string()
    .default('localhost:9092')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port[,host:port]')).min(1))
    .describe('Kafka bootstrap brokers, host:port[,host:port].'),
  KAFKA_CLIENT_ID: z.string().min(1).optional().describe('Kafka client id (unset: the service name).'),
  KAFKA_ACK_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(5_000)
    .describe('Milliseconds a publish waits for acks=all before the request is answered 503.'),
  KAFKA_LINGER_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(100)
    .default(5)
    .describe('Milliseconds a publish waits for others to share its produce request (0: only those of the same event-loop turn).'),
  KAFKA_HEALTH_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(1_000)
    .describe('Milliseconds without an acknowledged publish after which Kafka is probed (a metadata request); readiness fails once the probes do.'),
  KAFKA_HEALTH_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(1_500)
    .describe('Milliseconds a Kafka probe may take; a refused probe, or two that time out in a row, mark Kafka down (publishes answer 503 at once).'),
  CONSUMER_MAX_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe(
      'Times a consumer tries a message its handler keeps refusing (not a datastore outage: those are retried forever) before it dead-letters it with the reason and goes on.',
    ),
} as const;

/** The personal-data keys, for the services that see personal data in the clear. */
export const piiEnv = {
  PII_KEYS: z
    .string({ error: 'is required (kid:base64-32-byte-key[,kid:key...])' })
    .transform((v, ctx) => {
      const keys: Record<string, Buffer> = {};
      for (const part of v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const [kid, b64] = part.split(':');
        const key = b64 ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
        if (!kid || !/^[A-Za-z0-9_-]{1,32}$/.test(kid) || key.length !== 32) {
          ctx.addIssue({ code: 'custom', message: 'each entry must be kid:base64 of exactly 32 bytes' });
          return z.NEVER;
        }
        keys[kid] = key;
      }
      if (Object.keys(keys).length === 0) {
        ctx.addIssue({ code: 'custom', message: 'needs at least one key' });
        return z.NEVER;
      }
      return keys;
    })
    .describe('Personal-data encryption keys, kid:base64 of 32 bytes[,kid:key...]; ids no longer active still decrypt.'),
  PII_ACTIVE_KEY_ID: z.string().min(1, 'is required').describe('Id of the PII_KEYS key that seals new values.'),
  PII_INDEX_KEY: z
    .string({ error: 'is required (base64 of at least 32 bytes)' })
    .transform((v, ctx) => {
      const key = Buffer.from(v, 'base64');
      if (key.length < 32) {
        ctx.addIssue({ code: 'custom', message: 'must be base64 of at least 32 bytes' });
        return z.NEVER;
      }
      return key;
    })
    .describe('HMAC key of the blind indexes, base64 of at least 32 bytes (rotating it re-keys uniqueness).'),
} as const;

/** Refinement: the active key id must be one of the configured keys. */
export function activeKeyIsKnown(cfg: { PII_KEYS: Record<string, Buffer>; PII_ACTIVE_KEY_ID: string }): boolean {
  return cfg.PII_ACTIVE_KEY_ID in cfg.PII_KEYS;
}

export type BaseConfig = z.infer<z.ZodObject<typeof baseEnv>>;
export type PiiConfig = z.infer<z.ZodObject<typeof piiEnv>>;

/**
 * `HTTP_TRUST_PROXY` as Fastify's `trustProxy`: `false` (the default: trust nobody, `req.ip` is the
 * socket's peer), `true`, `loopback`, or a comma list of proxy addresses/CIDRs whose X-Forwarded-For
 * is believed.
 */
export function trustProxySetting(v: string): boolean | string | string[] {
  if (v === 'true') return true;
  if (v === 'false') return false;
  return v.includes(',') ? v.split(',').map((s) => s.trim()) : v;
}

/** A `true` / `false` setting, read as a boolean. */
export const flagEnv = (defaultValue: 'true' | 'false') =>
  z
    .enum(['true', 'false'])
    .default(defaultValue)
    .transform((v) => v === 'true');

/** `CONSUMER_START_AT`: where a consumer group with no committed offsets begins (`end` for tests and throwaway groups). */
export const consumerStartAtEnv = (description: string) => z.enum(['committed', 'end']).default('committed').describe(description);
