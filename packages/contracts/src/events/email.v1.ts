import { z } from 'zod';
import { defineEvent } from '../cloudevents';

/** A verification code was handed to the mail provider (published by the email service). */
export const emailVerificationRequestedV1Data = z.object({
  registrationId: z.uuid(),
  /** Masked address only (`b***@example.co.id`): partners learn where, not who. */
  emailMasked: z.string(),
  /** 1 for the first mail, +1 for every resend. */
  sendCount: z.number().int().positive(),
  sentAt: z.iso.datetime({ offset: true }),
  expiresAt: z.iso.datetime({ offset: true }),
});
export type EmailVerificationRequestedV1Data = z.infer<typeof emailVerificationRequestedV1Data>;
export const EMAIL_VERIFICATION_REQUESTED_V1 = 'email.verification-requested.v1';
export const emailVerificationRequestedV1Event = defineEvent(
  EMAIL_VERIFICATION_REQUESTED_V1,
  'id.gelombang.email.verification-requested.v1',
  emailVerificationRequestedV1Data,
);
export const emailVerificationRequestedV1 = emailVerificationRequestedV1Event.schema;
export type EmailVerificationRequestedV1 = z.infer<typeof emailVerificationRequestedV1>;

/** The applicant proved the address by entering the code (a thin fact; no personal data). */
export const emailVerifiedV1Data = z.object({
  registrationId: z.uuid(),
  verifiedAt: z.iso.datetime({ offset: true }),
});
export type EmailVerifiedV1Data = z.infer<typeof emailVerifiedV1Data>;
export const EMAIL_VERIFIED_V1 = 'email.verified.v1';
export const emailVerifiedV1Event = defineEvent(EMAIL_VERIFIED_V1, 'id.gelombang.email.verified.v1', emailVerifiedV1Data);
export const emailVerifiedV1 = emailVerifiedV1Event.schema;
export type EmailVerifiedV1 = z.infer<typeof emailVerifiedV1>;
