import type { FastifyReply } from 'fastify';
import { APPLICANT_SECURITY, problems, PUBLIC, sessionOnlyErrors, withHeaders } from '@gelombang/contracts';
import {
  applicantOnly,
  RATE_LIMITED,
  SESSION_EXPIRED,
  setSessionCookie,
  VALIDATION_FAILED,
  type App,
  type BucketSpec,
  type SessionIssuer,
  type TokenBucket,
} from '@gelombang/platform';
import type { EmailConfig } from '../config';
import { EMAIL_SIGNIN_ATTEMPTS_EXHAUSTED, EMAIL_SIGNIN_CODE_INVALID } from '../errors';
import { requestSignIn, verifySignIn, type SignInDeps } from '../domain/sign-in-use-cases';
import { ipGuard } from './ip-guard';
import { sessionBody, signedIn, signedOut, signInAccepted, signInRequestBody, signInVerifyBody } from './schemas';

export interface SessionRouteDeps extends SignInDeps {
  issuer: SessionIssuer;
  bucket: TokenBucket;
  /** Per client IP on POST /v1/sessions and …/verify together: bounds the rows and guesses one client can make. */
  signInBucket: (ip: string) => BucketSpec;
  /** A sign-in request was stored: wake the mail sender. */
  onQueued: () => void;
  onSignIn: (outcome: string) => void;
}

/** The sign-in guard's bucket of a client IP (generous, as the confirm guard: carrier NAT). */
export const signInBucket =
  (config: Pick<EmailConfig, 'REDIS_KEY_PREFIX' | 'SIGNIN_RATE_LIMIT_BURST' | 'SIGNIN_RATE_LIMIT_PER_SEC'>) =>
  (ip: string): BucketSpec => ({
    key: `${config.REDIS_KEY_PREFIX}email:rl:sign-in:${ip}`,
    capacity: config.SIGNIN_RATE_LIMIT_BURST,
    ratePerSec: config.SIGNIN_RATE_LIMIT_PER_SEC,
  });

const challenge = { 'www-authenticate': 'Bearer realm="gelombang"' };

/**
 * Ends the browser's cookie: the same name and attributes with Max-Age=0 (a cookie is only replaced
 * by one with the same path and flags). The platform has no clear-cookie helper, and @fastify/cookie's
 * reply.clearCookie is not typed here (this service does not depend on it).
 */
const clearSessionCookie = (reply: FastifyReply) => setSessionCookie(reply, { token: '', registrationId: '', authTime: 0, expiresAt: 0 });

/** POST /v1/sessions, POST /v1/sessions/verify, POST /v1/sessions/refresh and DELETE /v1/sessions. */
export async function sessionRoutes(app: App, deps: SessionRouteDeps) {
  const guard = ipGuard(deps.bucket, deps.signInBucket, () => deps.onSignIn('rate_limited'));

  app.post(
    '/v1/sessions',
    {
      onRequest: guard,
      schema: {
        summary: 'Ask for a sign-in code by mail (later visits)',
        description:
          'Who may call: anyone, without a session. Always 202 with the same body, whatever the address (verified, unverified, unknown): ' +
          'the request is stored and the mail sender decides later, so neither the answer nor its timing tells whether the address is registered. ' +
          "Only a verified registration's address is mailed a six-digit sign-in code (valid EMAIL_CODE_TTL_SEC; at most EMAIL_SIGNIN_MAX_SENDS mails " +
          'per EMAIL_SENDS_WINDOW_SEC, EMAIL_RESEND_COOLDOWN_SEC apart, within the provider quota). Any other address gets nothing. ' +
          '429 RATE_LIMITED: too many requests from one client IP.',
        operationId: 'requestSignInCode',
        tags: ['sessions'],
        security: PUBLIC,
        body: signInRequestBody,
        response: { 202: signInAccepted, ...problems([VALIDATION_FAILED, RATE_LIMITED]) },
      },
    },
    async (req, reply) => {
      await requestSignIn(deps, req.body.email);
      deps.onSignIn('requested');
      return reply.status(202).send({ status: 'code_sent_if_registered' as const });
    },
  );

  app.post(
    '/v1/sessions/verify',
    {
      onRequest: guard,
      schema: {
        summary: 'Sign in with the code from the mail',
        description:
          'Who may call: whoever holds a sign-in code, without a session. 200 with the registration and a new session (auth_time = now), ' +
          'and the gelombang_session cookie; the code works once. A wrong code, an expired one, none asked for and an unknown address all ' +
          'answer the same 400 EMAIL_SIGNIN_CODE_INVALID. Wrong codes are counted per address (any address, registered or not) across codes: ' +
          'the one that uses up EMAIL_SIGNIN_MAX_ATTEMPTS, and every try after it, answers 429 EMAIL_SIGNIN_ATTEMPTS_EXHAUSTED with Retry-After = ' +
          'the end of the window. 429 RATE_LIMITED: too many requests from one client IP.',
        operationId: 'signIn',
        tags: ['sessions'],
        security: PUBLIC,
        body: signInVerifyBody,
        response: {
          200: withHeaders(signedIn, ['Set-Cookie']),
          ...problems([VALIDATION_FAILED, EMAIL_SIGNIN_CODE_INVALID, EMAIL_SIGNIN_ATTEMPTS_EXHAUSTED, RATE_LIMITED]),
        },
      },
    },
    async (req, reply) => {
      const outcome = await verifySignIn(deps, req.body.email, req.body.code);
      deps.onSignIn(outcome.kind);
      switch (outcome.kind) {
        case 'signed_in': {
          const session = deps.issuer.issue(outcome.registrationId, deps.now().getTime());
          setSessionCookie(reply, session);
          req.log.info({ registrationId: outcome.registrationId }, 'signed in');
          return { registrationId: outcome.registrationId, session: sessionBody(session) };
        }
        case 'invalid':
          throw EMAIL_SIGNIN_CODE_INVALID();
        case 'exhausted':
          throw EMAIL_SIGNIN_ATTEMPTS_EXHAUSTED({ headers: { 'retry-after': String(outcome.retryAfterSec) } });
      }
    },
  );

  app.post(
    '/v1/sessions/refresh',
    {
      ...applicantOnly(app, { owner: (req) => req.applicantSession?.registrationId }),
      schema: {
        summary: 'A new token for the session, before it expires',
        description:
          'Who may call: the applicant, with a session that has not expired (Authorization: Bearer … or the gelombang_session cookie). ' +
          '200 with a new token (and cookie) that keeps the old auth_time: a refresh never makes a session fresh, only a code does. ' +
          '401 SESSION_REQUIRED without a valid session; 401 SESSION_EXPIRED once the token expired, or once the code was proved more than ' +
          'SESSION_MAX_AGE_SEC ago (sign in again with POST /v1/sessions).',
        operationId: 'refreshSession',
        tags: ['sessions'],
        security: APPLICANT_SECURITY,
        response: { 200: withHeaders(signedIn, ['Set-Cookie']), ...problems(sessionOnlyErrors) },
      },
    },
    async (req, reply) => {
      const current = req.applicantSession!;
      if (!deps.issuer.refreshable(current)) throw SESSION_EXPIRED({ headers: challenge });
      const session = deps.issuer.issue(current.registrationId, current.authTime);
      setSessionCookie(reply, session);
      return { registrationId: current.registrationId, session: sessionBody(session) };
    },
  );

  app.delete(
    '/v1/sessions',
    {
      schema: {
        summary: 'Sign out: clear the session cookie',
        description:
          'Who may call: anyone (clearing a cookie needs no proof). 204, and Set-Cookie ends gelombang_session. Sessions are stateless: ' +
          'a token already handed out stays valid until it expires (at most SESSION_TTL_SEC); a client holding it in memory drops it.',
        operationId: 'signOut',
        tags: ['sessions'],
        security: PUBLIC,
        response: { 204: signedOut },
      },
    },
    async (_req, reply) => {
      clearSessionCookie(reply);
      return reply.status(204).send();
    },
  );
}
