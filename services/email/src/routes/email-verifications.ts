import { problems, PUBLIC, withHeaders } from '@gelombang/contracts';
import { RATE_LIMITED, setSessionCookie, VALIDATION_FAILED, type App, type BucketSpec, type SessionIssuer, type TokenBucket } from '@gelombang/platform';
import type { EmailConfig } from '../config';
import {
  EMAIL_ALREADY_VERIFIED,
  EMAIL_CODE_EXPIRED,
  EMAIL_CODE_INVALID,
  EMAIL_CODE_LOCKED,
  EMAIL_CODE_NOT_SENT,
  EMAIL_CODE_SUBMISSIONS_EXHAUSTED,
  EMAIL_RESEND_LIMIT_REACHED,
  EMAIL_RESEND_TOO_SOON,
  EMAIL_VERIFICATION_NOT_FOUND,
} from '../errors';
import { confirmCode, requestResend, type ConfirmOutcome, type UseCaseDeps } from '../domain/use-cases';
import { attemptsLeft, resendAvailableAt, statusOf } from '../domain/verification';
import { ipGuard } from './ip-guard';
import { codeErrorBody, confirmBody, confirmed, registrationParams, resendAccepted, sessionBody, verificationView } from './schemas';

export interface RouteDeps extends UseCaseDeps {
  onQueued: () => void;
  onConfirm: (outcome: string) => void;
  bucket: TokenBucket;
  /** Per client IP on confirm: the brute-force guard in front of the per-code attempt limit. */
  confirmBucket: (ip: string) => BucketSpec;
  /** Signs the applicant session the verifying confirm answers with. */
  issuer: SessionIssuer;
}

/** The confirm guard's bucket of a client IP (generous: carrier NAT puts many applicants behind one). */
export const confirmBucket =
  (config: Pick<EmailConfig, 'REDIS_KEY_PREFIX' | 'CONFIRM_RATE_LIMIT_BURST' | 'CONFIRM_RATE_LIMIT_PER_SEC'>) =>
  (ip: string): BucketSpec => ({
    key: `${config.REDIS_KEY_PREFIX}email:rl:confirm:${ip}`,
    capacity: config.CONFIRM_RATE_LIMIT_BURST,
    ratePerSec: config.CONFIRM_RATE_LIMIT_PER_SEC,
  });

const iso = (d: Date | null) => (d ? d.toISOString() : null);

const submissionsExhausted = (retryAfterSec: number) =>
  EMAIL_CODE_SUBMISSIONS_EXHAUSTED({ headers: { 'retry-after': String(retryAfterSec) }, extra: { attemptsLeft: 0 } });

/** The outcome label of email_confirms_total. */
function confirmOutcomeLabel(o: ConfirmOutcome): string {
  if (o.kind === 'verified' && o.replayed) return 'already_verified';
  if (o.kind === 'wrong' && o.exhaustsNow) return 'exhausted_now';
  if (o.kind === 'wrong' && o.locksNow) return 'locked_now';
  return o.kind;
}

/** GET /v1/email-verifications/:registrationId, POST …/confirm and POST …/resend. */
export async function emailVerificationRoutes(app: App, deps: RouteDeps) {
  app.get(
    '/v1/email-verifications/:registrationId',
    {
      schema: {
        summary: 'Where the email verification of a registration stands',
        description:
          'Who may call: anyone with the registration id (no session: the applicant has none before confirming; the view shows only the masked address). ' +
          '404 until the registration.submitted.v1 event was consumed (usually well under a second).',
        operationId: 'getEmailVerification',
        tags: ['email-verifications'],
        security: PUBLIC,
        params: registrationParams,
        response: { 200: verificationView, ...problems([EMAIL_VERIFICATION_NOT_FOUND]) },
      },
    },
    async (req) => {
      const { registrationId } = req.params;
      const row = await deps.repository.find(registrationId);
      if (!row) throw EMAIL_VERIFICATION_NOT_FOUND();
      const now = deps.now();
      return {
        registrationId,
        status: statusOf(row, deps.rules),
        emailMasked: row.emailMasked,
        sentAt: iso(row.sentAt),
        expiresAt: iso(row.codeHmac ? row.expiresAt : null),
        attemptsLeft: row.codeHmac ? attemptsLeft(row, deps.rules, now) : 0,
        resendAvailableAt: iso(resendAvailableAt(row, deps.rules, now)),
      };
    },
  );

  app.post(
    '/v1/email-verifications/:registrationId/confirm',
    {
      onRequest: ipGuard(deps.bucket, deps.confirmBucket, () => deps.onConfirm('rate_limited')),
      schema: {
        summary: 'Confirm the address with the code from the mail',
        description:
          'Who may call: whoever holds the code from the mail (no session needed: this is how an applicant gets the first one). ' +
          'The confirm that verifies answers 200 with `session` and sets the gelombang_session cookie (HttpOnly, Secure, SameSite=Strict). ' +
          'Idempotent: confirming a verified registration answers the same 200 but without a session, whatever the code (the code is gone once used); ' +
          'a client that lost its session signs in with POST /v1/sessions. A wrong code answers 400 with attemptsLeft; ' +
          'the wrong code that uses up the last attempt, and every confirm after it, answers 423 until a new code is asked for. ' +
          'Codes tried per registration are also counted across resends (EMAIL_MAX_CODE_SUBMISSIONS per EMAIL_SENDS_WINDOW_SEC): the wrong code that ' +
          'uses up the last one, and every confirm after it, answers 429 EMAIL_CODE_SUBMISSIONS_EXHAUSTED with Retry-After = the end of that window. ' +
          '429 RATE_LIMITED: too many confirms from one client IP.',
        operationId: 'confirmEmailVerification',
        tags: ['email-verifications'],
        security: PUBLIC,
        params: registrationParams,
        body: confirmBody,
        response: {
          200: withHeaders(confirmed, ['Set-Cookie']),
          ...problems([EMAIL_VERIFICATION_NOT_FOUND, EMAIL_CODE_NOT_SENT, EMAIL_CODE_EXPIRED]),
          // A wrong code says how many tries are left (attemptsLeft).
          ...problems([VALIDATION_FAILED, EMAIL_CODE_INVALID, EMAIL_CODE_LOCKED, EMAIL_CODE_SUBMISSIONS_EXHAUSTED, RATE_LIMITED], { schema: codeErrorBody }),
        },
      },
    },
    async (req, reply) => {
      const { registrationId } = req.params;
      const outcome = await confirmCode(deps, registrationId, req.body.code);
      deps.onConfirm(confirmOutcomeLabel(outcome));
      switch (outcome.kind) {
        case 'verified': {
          const verified = { registrationId, status: 'verified' as const, verifiedAt: outcome.verifiedAt.toISOString() };
          if (outcome.replayed) return verified;
          // authTime = the moment the code was proved: a refresh keeps it, SESSION_MAX_AGE_SEC counts from it.
          const session = deps.issuer.issue(registrationId, outcome.verifiedAt.getTime());
          setSessionCookie(reply, session);
          return { ...verified, session: sessionBody(session) };
        }
        case 'not_found':
          throw EMAIL_VERIFICATION_NOT_FOUND();
        case 'not_sent':
          throw EMAIL_CODE_NOT_SENT();
        case 'expired':
          throw EMAIL_CODE_EXPIRED();
        case 'exhausted':
          throw submissionsExhausted(outcome.retryAfterSec);
        case 'locked':
          throw EMAIL_CODE_LOCKED({ extra: { attemptsLeft: 0 } });
        case 'wrong':
          if (outcome.exhaustsNow) throw submissionsExhausted(outcome.retryAfterSec);
          throw outcome.locksNow ? EMAIL_CODE_LOCKED({ extra: { attemptsLeft: 0 } }) : EMAIL_CODE_INVALID({ extra: { attemptsLeft: outcome.attemptsLeft } });
      }
    },
  );

  app.post(
    '/v1/email-verifications/:registrationId/resend',
    {
      schema: {
        summary: 'Mail a new code (the old one stops working)',
        description:
          'Who may call: anyone with the registration id (no session: the applicant proves nothing here; the mail goes only to the registered address). ' +
          'The mail goes out through the same quota-bound sender as the first one. 429 with Retry-After when too soon or too many, ' +
          'and EMAIL_CODE_SUBMISSIONS_EXHAUSTED while the registration may try no code (no mail is spent on a code that cannot be used).',
        operationId: 'resendEmailVerification',
        tags: ['email-verifications'],
        security: PUBLIC,
        params: registrationParams,
        response: {
          202: resendAccepted,
          ...problems([
            EMAIL_VERIFICATION_NOT_FOUND,
            EMAIL_ALREADY_VERIFIED,
            EMAIL_RESEND_TOO_SOON,
            EMAIL_RESEND_LIMIT_REACHED,
            EMAIL_CODE_SUBMISSIONS_EXHAUSTED,
          ]),
        },
      },
    },
    async (req, reply) => {
      const { registrationId } = req.params;
      const outcome = await requestResend(deps, registrationId);
      switch (outcome.kind) {
        case 'queued':
          return reply.status(202).send({ registrationId, status: 'pending' as const });
        case 'not_found':
          throw EMAIL_VERIFICATION_NOT_FOUND();
        case 'already_verified':
          throw EMAIL_ALREADY_VERIFIED();
        case 'too_soon':
          throw EMAIL_RESEND_TOO_SOON({ headers: { 'retry-after': String(outcome.retryAfterSec) } });
        case 'limit':
          throw EMAIL_RESEND_LIMIT_REACHED({ headers: { 'retry-after': String(outcome.retryAfterSec) } });
        case 'exhausted':
          throw submissionsExhausted(outcome.retryAfterSec);
      }
    },
  );
}
