import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { activeKeyIsKnown, baseEnv, consumerStartAtEnv, flagEnv, keyId, loadConfig, piiEnv, sessionSignEnv, sessionVerifyEnv } from '@gelombang/platform';
import type { SignInRules } from './domain/sign-in';

const positive = z.coerce.number().positive();
const positiveInt = z.coerce.number().int().positive();

export const emailEnv = z
  .object({
    ...baseEnv,
    ...piiEnv,
    ...sessionVerifyEnv,
    ...sessionSignEnv,
    HTTP_PORT: baseEnv.HTTP_PORT.default(3002),
    HTTP_TRUST_PROXY: z
      .string()
      .default('false')
      .describe('Whose X-Forwarded-For sets the client IP of the confirm and sign-in guards: false, true, loopback, or a comma list of proxy addresses/CIDRs.'),
    PG_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .default('email')
      .describe("PostgreSQL schema of this service's tables (created by its migrations)."),

    CONSUMER_ENABLED: flagEnv('true').describe('Consume registration.submitted.v1 in this process.'),
    CONSUMER_GROUP: z.string().min(1).default('email-verification').describe('Kafka consumer group of the registration.submitted.v1 consumer.'),
    CONSUMER_START_AT: consumerStartAtEnv(
      'Where a new consumer group starts (an existing one resumes): committed reads the topic from its start, end takes only new events.',
    ),

    MAIL_SMTP_URL: z
      .string()
      .default('smtp://127.0.0.1:1025')
      .refine((v) => {
        try {
          return ['smtp:', 'smtps:'].includes(new URL(v).protocol);
        } catch {
          return false;
        }
      }, 'must be a URL starting with smtp:// or smtps://')
      .describe('The mail provider, pooled SMTP: smtp://, or smtps:// for implicit TLS; user:pass in the URL if needed.'),
    MAIL_FROM: z.string().min(3).default('"Kartu Prakerja" <no-reply@prakerja.gelombang.id>').describe('From header of every mail.'),
    MAIL_QUOTA_BURST: positive.default(50).describe("Token-bucket capacity of the provider's quota (all replicas, shared in Redis), in mails."),
    MAIL_QUOTA_PER_SEC: positive.default(50).describe("Token-bucket refill of the provider's quota (all replicas), in mails per second."),
    /**
     * A mail on a cold SMTP connection reaches the provider ~100 ms later than one on a warm connection,
     * so tokens taken in order can arrive bunched.
     */
    MAIL_QUOTA_HEADROOM_MS: z.coerce
      .number()
      .int()
      .min(0)
      .default(300)
      .describe(
        'Milliseconds of refill held back from the burst for the spread of delivery times: the bucket holds MAIL_QUOTA_BURST − MAIL_QUOTA_PER_SEC × this ÷ 1000 (at least 1).',
      ),
    MAIL_SENDER_ENABLED: flagEnv('true').describe('Mail from this process (false: consume and answer, mail nothing, e.g. a replica without SMTP access).'),
    MAIL_BATCH_SIZE: positiveInt.max(1000).default(20).describe('Queued mails claimed per round of the sender.'),
    MAIL_CONCURRENCY: positiveInt.max(100).default(5).describe('Mails in flight at once per process (= pooled SMTP connections).'),
    MAIL_CLAIM_LEASE_SEC: positiveInt.default(120).describe('Seconds after which a claimed mail a crashed sender never finished is mailed again.'),
    MAIL_POLL_MS: positiveInt.default(250).describe('Milliseconds between queue polls when idle (new mails wake the sender of the same process at once).'),
    MAIL_RETRY_BASE_MS: positiveInt
      .default(1_000)
      .describe('Milliseconds of the first back-off after an SMTP failure (then up to twice as long per failure, jittered).'),
    MAIL_RETRY_MAX_MS: positiveInt
      .default(300_000)
      .describe('Milliseconds the SMTP back-off is capped at (also how long an address sealed with an unknown key waits); at least MAIL_RETRY_BASE_MS.'),
    MAIL_SMTP_TIMEOUT_MS: positiveInt.default(15_000).describe('Milliseconds of the SMTP connection, greeting and socket timeouts.'),

    EMAIL_CODE_TTL_SEC: positiveInt.default(900).describe('Seconds a verification or sign-in code stays valid.'),
    EMAIL_MAX_ATTEMPTS: positiveInt.max(100).default(5).describe('Wrong codes before the code locks.'),
    EMAIL_RESEND_COOLDOWN_SEC: z.coerce.number().int().min(0).default(60).describe('Seconds at least between a mail and the next resend.'),
    EMAIL_MAX_SENDS: positiveInt.default(5).describe('Mails per registration (the first one included) within EMAIL_SENDS_WINDOW_SEC.'),
    EMAIL_SENDS_WINDOW_SEC: positiveInt
      .default(24 * 3600)
      .describe(
        "Seconds of the windows the limits count in: EMAIL_MAX_SENDS (opened by the registration's first mail), EMAIL_MAX_CODE_SUBMISSIONS (by its first code tried), EMAIL_SIGNIN_MAX_SENDS and EMAIL_SIGNIN_MAX_ATTEMPTS (by an address's first sign-in mail, first wrong sign-in code).",
      ),
    EMAIL_MAX_CODE_SUBMISSIONS: positiveInt
      .max(1000)
      .default(10)
      .describe(
        'Codes tried per registration within EMAIL_SENDS_WINDOW_SEC, across resent codes (EMAIL_MAX_ATTEMPTS is per code); then confirm answers 429 until the window ends.',
      ),

    EMAIL_SIGNIN_MAX_SENDS: positiveInt
      .default(5)
      .describe(
        'Sign-in mails per address within EMAIL_SENDS_WINDOW_SEC (at least EMAIL_RESEND_COOLDOWN_SEC apart); requests past it are answered 202 like any other and mail nothing.',
      ),
    EMAIL_SIGNIN_MAX_ATTEMPTS: positiveInt
      .max(1000)
      .default(10)
      .describe(
        'Wrong sign-in codes per address (registered or not) within EMAIL_SENDS_WINDOW_SEC, across codes; then POST /v1/sessions/verify answers 429 until the window ends.',
      ),

    /** Brute-force guard; generous: carrier NAT. */
    CONFIRM_RATE_LIMIT_BURST: positive
      .default(30)
      .describe('Token-bucket capacity per client IP on POST /v1/email-verifications/:registrationId/confirm, in requests.'),
    CONFIRM_RATE_LIMIT_PER_SEC: positive
      .default(3)
      .describe('Token-bucket refill per client IP on POST /v1/email-verifications/:registrationId/confirm, in requests per second.'),
    SIGNIN_RATE_LIMIT_BURST: positive
      .default(30)
      .describe('Token-bucket capacity per client IP on POST /v1/sessions and POST /v1/sessions/verify together, in requests.'),
    SIGNIN_RATE_LIMIT_PER_SEC: positive
      .default(3)
      .describe('Token-bucket refill per client IP on POST /v1/sessions and POST /v1/sessions/verify together, in requests per second.'),
  })
  .refine(activeKeyIsKnown, { path: ['PII_ACTIVE_KEY_ID'], message: 'must name one of the PII_KEYS ids' })
  .refine((c) => c.MAIL_RETRY_BASE_MS <= c.MAIL_RETRY_MAX_MS, { path: ['MAIL_RETRY_MAX_MS'], message: 'must be ≥ MAIL_RETRY_BASE_MS' })
  .refine(signingKeyIsVerified, {
    path: ['SESSION_SIGNING_KEY'],
    message: 'its public half must be one of SESSION_VERIFY_KEYS (else no service, this one included, accepts the sessions it signs)',
  });

/** The sessions this service signs must open its own routes and the other services': its key is among the verifying ones. */
function signingKeyIsVerified(c: { SESSION_SIGNING_KEY: KeyObject; SESSION_VERIFY_KEYS: Map<string, unknown> }): boolean {
  return c.SESSION_VERIFY_KEYS.has(keyId(createPublicKey(c.SESSION_SIGNING_KEY)));
}

export type EmailConfig = z.infer<typeof emailEnv>;

export function loadEmailConfig(env: NodeJS.ProcessEnv = process.env): EmailConfig {
  return loadConfig(emailEnv, env);
}

/** The verification rules the use cases apply (domain/verification.ts), from the settings. */
export const verificationRules = (c: EmailConfig) => ({
  codeTtlSec: c.EMAIL_CODE_TTL_SEC,
  maxAttempts: c.EMAIL_MAX_ATTEMPTS,
  resendCooldownSec: c.EMAIL_RESEND_COOLDOWN_SEC,
  maxSends: c.EMAIL_MAX_SENDS,
  sendsWindowSec: c.EMAIL_SENDS_WINDOW_SEC,
  maxCodeSubmissions: c.EMAIL_MAX_CODE_SUBMISSIONS,
});

/** The sign-in rules (domain/sign-in.ts), from the settings. */
export const signInRules = (c: EmailConfig): SignInRules => ({
  codeTtlSec: c.EMAIL_CODE_TTL_SEC,
  maxSends: c.EMAIL_SIGNIN_MAX_SENDS,
  cooldownSec: c.EMAIL_RESEND_COOLDOWN_SEC,
  maxAttempts: c.EMAIL_SIGNIN_MAX_ATTEMPTS,
  windowSec: c.EMAIL_SENDS_WINDOW_SEC,
});
