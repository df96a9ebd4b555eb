import { z } from 'zod';
import { errorBody } from '@gelombang/contracts';

export const registrationParams = z.object({ registrationId: z.uuid() });

export const confirmBody = z
  .object({
    code: z
      .string()
      .regex(/^\d{6}$/, 'six digits')
      .describe('The six digits from the mail'),
  })
  .strict();

const instant = z.iso.datetime({ offset: true });

export const verificationView = z.object({
  registrationId: z.uuid(),
  status: z
    .enum(['pending', 'sent', 'verified', 'locked'])
    .describe('pending: not mailed yet (or a new code is on its way) · sent · verified · locked: too many wrong codes, ask for a new one'),
  emailMasked: z.string(),
  sentAt: instant.nullable(),
  expiresAt: instant.nullable(),
  attemptsLeft: z.number().int().min(0),
  resendAvailableAt: instant.nullable().describe('When POST …/resend is accepted (null: nothing to resend)'),
});

/** An applicant session (packages/platform/src/session.ts): the token is also set as the HttpOnly cookie. */
export const sessionView = z.object({
  token: z.string().describe('EdDSA JWT: send it as Authorization: Bearer …, or let the browser send the gelombang_session cookie'),
  expiresAt: instant.describe('When the token stops being accepted; refresh before (POST /v1/sessions/refresh)'),
});

export const confirmed = z.object({
  registrationId: z.uuid(),
  status: z.literal('verified'),
  verifiedAt: instant,
  session: sessionView.optional().describe('Only on the confirm that verified; a replay has none (sign in with POST /v1/sessions instead)'),
});

export const resendAccepted = z.object({ registrationId: z.uuid(), status: z.literal('pending') });

/** A wrong code also says how many tries are left. */
export const codeErrorBody = errorBody.extend({ attemptsLeft: z.number().int().min(0).optional() });
