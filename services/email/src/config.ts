import { z } from 'zod';
import { activeKeyIsKnown, baseEnv, loadConfig, piiEnv } from '@gelombang/platform';

const positive = z.coerce.number().positive();
const positiveInt = z.coerce.number().int().positive();
const flag = (dflt: 'true' | 'false') => z.enum(['true', 'false']).default(dflt).transform((v) => v === 'true');

export const emailEnv = z
  .object({
    ...baseEnv,
    ...piiEnv,
    HTTP_PORT: baseEnv.HTTP_PORT.default(3002),
    /** `false`, `true`, `loopback`, or a comma list of proxy addresses/CIDRs whose X-Forwarded-For we believe. */
    HTTP_TRUST_PROXY: z.string().default('false'),
    PG_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('email'),

    CONSUMER_ENABLED: flag('true'),
    CONSUMER_GROUP: z.string().min(1).default('email-verification'),
    /** committed: a new group reads registration.submitted.v1 from the start; end: only new events (an existing group resumes either way). */
    CONSUMER_START_AT: z.enum(['committed', 'end']).default('committed'),

    /** The mail provider. Pooled SMTP; `smtps://` for implicit TLS; user:pass in the URL if needed. */
    MAIL_SMTP_URL: z
      .string()
      .default('smtp://127.0.0.1:1025')
      .refine((v) => {
        try {
          return ['smtp:', 'smtps:'].includes(new URL(v).protocol);
        } catch {
          return false;
        }
      }, 'must be a URL starting with smtp:// or smtps://'),
    MAIL_FROM: z.string().min(3).default('"Kartu Prakerja" <no-reply@prakerja.gelombang.id>'),
    /** The provider's quota, shared by every replica through one Redis token bucket. */
    MAIL_QUOTA_BURST: positive.default(50),
    MAIL_QUOTA_PER_SEC: positive.default(50),
    /**
     * Tokens kept back from the burst for the spread of delivery times: a mail on a cold SMTP connection
     * reaches the provider ~100 ms later than one on a warm connection, so tokens taken in order can
     * arrive bunched. The bucket's burst is MAIL_QUOTA_BURST − MAIL_QUOTA_PER_SEC × this (at least 1).
     */
    MAIL_QUOTA_HEADROOM_MS: z.coerce.number().int().min(0).default(300),
    MAIL_SENDER_ENABLED: flag('true'),
    /** Rows claimed per round, and mails in flight at once (= pooled SMTP connections). */
    MAIL_BATCH_SIZE: positiveInt.max(1000).default(20),
    MAIL_CONCURRENCY: positiveInt.max(100).default(5),
    /** A claimed row a crashed sender never finished is mailed again after this lease. */
    MAIL_CLAIM_LEASE_SEC: positiveInt.default(120),
    MAIL_POLL_MS: positiveInt.default(250),
    MAIL_RETRY_BASE_MS: positiveInt.default(1_000),
    MAIL_RETRY_MAX_MS: positiveInt.default(300_000),
    MAIL_SMTP_TIMEOUT_MS: positiveInt.default(15_000),

    EMAIL_CODE_TTL_SEC: positiveInt.default(900),
    EMAIL_MAX_ATTEMPTS: positiveInt.max(100).default(5),
    EMAIL_RESEND_COOLDOWN_SEC: z.coerce.number().int().min(0).default(60),
    /** Mails per registration (the first one included) within EMAIL_SENDS_WINDOW_SEC. */
    EMAIL_MAX_SENDS: positiveInt.default(5),
    EMAIL_SENDS_WINDOW_SEC: positiveInt.default(24 * 3600),

    /** Brute-force guard on POST …/confirm, per client IP (generous: carrier NAT). */
    CONFIRM_RATE_LIMIT_BURST: positive.default(30),
    CONFIRM_RATE_LIMIT_PER_SEC: positive.default(3),
  })
  .refine(activeKeyIsKnown, { path: ['PII_ACTIVE_KEY_ID'], message: 'must name one of the PII_KEYS ids' })
  .refine((c) => c.MAIL_RETRY_BASE_MS <= c.MAIL_RETRY_MAX_MS, { path: ['MAIL_RETRY_MAX_MS'], message: 'must be ≥ MAIL_RETRY_BASE_MS' });

export type EmailConfig = z.infer<typeof emailEnv>;

export function loadEmailConfig(env: NodeJS.ProcessEnv = process.env): EmailConfig {
  return loadConfig(emailEnv, env);
}
