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

export const confirmed = z.object({ registrationId: z.uuid(), status: z.literal('verified'), verifiedAt: instant });

export const resendAccepted = z.object({ registrationId: z.uuid(), status: z.literal('pending') });

/** A wrong code also says how many tries are left. */
export const codeErrorBody = errorBody.extend({ attemptsLeft: z.number().int().min(0).optional() });
