import { errorBody } from '@gelombang/contracts';
import { setSessionCookie, type App, type BucketSpec, type SessionIssuer, type TokenBucket } from '@gelombang/platform';
import type { EmailConfig } from '../config';
import { EMAIL_SIGNIN_ATTEMPTS_EXHAUSTED, EMAIL_SIGNIN_CODE_INVALID } from '../errors';
import { requestSignIn, verifySignIn, type SignInDeps } from '../domain/sign-in-use-cases';
import { ipGuard } from './ip-guard';
import { sessionBody, signedIn, signInAccepted, signInRequestBody, signInVerifyBody } from './schemas';

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

/** POST /v1/sessions and POST /v1/sessions/verify. */
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
        body: signInRequestBody,
        response: { 202: signInAccepted, 400: errorBody, 429: errorBody },
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
        body: signInVerifyBody,
        response: { 200: signedIn, 400: errorBody, 429: errorBody },
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
}
