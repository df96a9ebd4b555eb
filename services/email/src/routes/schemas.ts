import { z } from 'zod';
import { errorBody, noContent } from '@gelombang/contracts';
import type { IssuedSession } from '@gelombang/platform';

export const registrationParams = z.object({ registrationId: z.uuid() });

const sixDigits = z
  .string()
  .regex(/^\d{6}$/, 'six digits')
  .meta({ examples: ['123456'] })
  .describe('The six digits from the mail');

export const confirmBody = z.object({ code: sixDigits }).strict().meta({ title: 'ConfirmRequest' });

/** Compared as the intake stored it (trimmed, lower-case), through the same blind index. */
const emailAddress = z
  .string()
  .max(254)
  .transform((v) => v.trim().toLowerCase())
  .pipe(z.email())
  .meta({ format: 'email', example: 'budi@example.co.id' })
  .describe('The address the registration was made with');

export const signInRequestBody = z.object({ email: emailAddress }).strict().meta({ title: 'SignInRequest' });

export const signInVerifyBody = z.object({ email: emailAddress, code: sixDigits }).strict().meta({ title: 'SignInVerifyRequest' });

const EXAMPLE_ID = '0193a5c2-7d4e-7c3a-9f1e-2b6d8c4a1e90';
const EXAMPLE_SESSION = { token: 'eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl', expiresAt: '2026-12-04T08:15:00.000Z' };

const instant = z.iso.datetime({ offset: true });

export const verificationView = z
  .object({
    registrationId: z.uuid(),
    status: z
      .enum(['pending', 'sent', 'verified', 'locked'])
      .describe('pending: not mailed yet (or a new code is on its way) · sent · verified · locked: too many wrong codes, ask for a new one'),
    emailMasked: z.string(),
    sentAt: instant.nullable(),
    expiresAt: instant.nullable(),
    attemptsLeft: z.number().int().min(0),
    resendAvailableAt: instant.nullable().describe('When POST …/resend is accepted (null: nothing to resend)'),
  })
  .meta({
    title: 'EmailVerification',
    examples: [
      {
        registrationId: EXAMPLE_ID,
        status: 'sent',
        emailMasked: 'b***@example.co.id',
        sentAt: '2026-12-04T08:00:01.000Z',
        expiresAt: '2026-12-04T08:15:01.000Z',
        attemptsLeft: 5,
        resendAvailableAt: '2026-12-04T08:01:01.000Z',
      },
    ],
  });

/** An applicant session (packages/platform/src/session.ts): the token is also set as the HttpOnly cookie. */
export const sessionView = z
  .object({
    token: z.string().describe('EdDSA JWT: send it as Authorization: Bearer …, or let the browser send the gelombang_session cookie'),
    expiresAt: instant.describe('When the token stops being accepted; refresh before (POST /v1/sessions/refresh)'),
  })
  .meta({ title: 'Session' });

/** The session in a body: the token and when it expires (its claims are the token's business). */
export const sessionBody = (s: IssuedSession): z.infer<typeof sessionView> => ({ token: s.token, expiresAt: new Date(s.expiresAt).toISOString() });

export const confirmed = z
  .object({
    registrationId: z.uuid(),
    status: z.literal('verified'),
    verifiedAt: instant,
    session: sessionView.optional().describe('Only on the confirm that verified; a replay has none (sign in with POST /v1/sessions instead)'),
  })
  .meta({
    title: 'EmailConfirmed',
    examples: [{ registrationId: EXAMPLE_ID, status: 'verified', verifiedAt: '2026-12-04T08:00:30.000Z', session: EXAMPLE_SESSION }],
  });

export const resendAccepted = z
  .object({ registrationId: z.uuid(), status: z.literal('pending') })
  .meta({ title: 'ResendAccepted', examples: [{ registrationId: EXAMPLE_ID, status: 'pending' }] });

/** A wrong code also says how many tries are left. */
export const codeErrorBody = errorBody
  .extend({
    attemptsLeft: z.number().int().min(0).optional().describe('Codes this registration may still try (0: ask for a new code, or wait for Retry-After)'),
  })
  .meta({ title: 'CodeProblem' });

/** DELETE /v1/sessions: no body; Set-Cookie ends the cookie. */
export const signedOut = noContent('Signed out: Set-Cookie clears gelombang_session (Max-Age=0)', ['Set-Cookie']);

/** The one answer to POST /v1/sessions, whatever the address. */
export const signInAccepted = z
  .object({
    status: z
      .literal('code_sent_if_registered')
      .describe('A code is mailed only if the address belongs to a verified registration; the answer does not say whether it does'),
  })
  .meta({ title: 'SignInAccepted', examples: [{ status: 'code_sent_if_registered' }] });

export const signedIn = z
  .object({ registrationId: z.uuid(), session: sessionView })
  .meta({ title: 'SignedIn', examples: [{ registrationId: EXAMPLE_ID, session: EXAMPLE_SESSION }] });
