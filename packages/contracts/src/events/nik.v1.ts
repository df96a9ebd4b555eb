import { z } from 'zod';
import { defineEvent } from '../cloudevents';
import { sealed } from './registration-submitted.v1';

/**
 * Asks the NIK service to check a person against the population registry. Published by the email
 * service once the address is verified (attempt 1) and by the intake when the applicant corrects a
 * rejected NIK (attempt 2, 3, …). Carries exactly the sealed fields the registry check needs.
 */
export const nikVerificationRequestedV1Data = z.object({
  registrationId: z.uuid(),
  attempt: z.number().int().positive(),
  requestedAt: z.iso.datetime({ offset: true }),
  pii: z.object({ nik: sealed, fullName: sealed, birthDate: sealed }),
  /** HMAC blind index of the NIK being checked (the person's identity downstream). */
  nikIndex: z.string().min(16),
  provinceCode: z.string().regex(/^\d{2}$/),
});
export type NikVerificationRequestedV1Data = z.infer<typeof nikVerificationRequestedV1Data>;
export const NIK_VERIFICATION_REQUESTED_V1 = 'nik.verification-requested.v1';
export const nikVerificationRequestedV1Event = defineEvent(
  NIK_VERIFICATION_REQUESTED_V1,
  'id.gelombang.nik.verification-requested.v1',
  nikVerificationRequestedV1Data,
);
export const nikVerificationRequestedV1 = nikVerificationRequestedV1Event.schema;
export type NikVerificationRequestedV1 = z.infer<typeof nikVerificationRequestedV1>;

/** The registry knows this person: NIK, name and birth date match. */
export const nikVerifiedV1Data = z.object({
  registrationId: z.uuid(),
  attempt: z.number().int().positive(),
  nikIndex: z.string().min(16),
  provinceCode: z.string().regex(/^\d{2}$/),
  verifiedAt: z.iso.datetime({ offset: true }),
});
export type NikVerifiedV1Data = z.infer<typeof nikVerifiedV1Data>;
export const NIK_VERIFIED_V1 = 'nik.verified.v1';
export const nikVerifiedV1Event = defineEvent(NIK_VERIFIED_V1, 'id.gelombang.nik.verified.v1', nikVerifiedV1Data);
export const nikVerifiedV1 = nikVerifiedV1Event.schema;
export type NikVerifiedV1 = z.infer<typeof nikVerifiedV1>;

/**
 * Why the check refused. NIK_NOT_FOUND and DATA_MISMATCH are correctable (a typo); NIK_INACTIVE
 * (deceased, or replaced by a newer record) is not. NIK_ALREADY_HELD (not correctable): another
 * registration already holds this NIK, because the registry matched it there first; at most one
 * registration per NIK is ever verified.
 */
export const nikRejectionReason = z.enum(['NIK_NOT_FOUND', 'DATA_MISMATCH', 'NIK_INACTIVE', 'NIK_ALREADY_HELD']);
export type NikRejectionReason = z.infer<typeof nikRejectionReason>;
export const nikRejectedV1Data = z.object({
  registrationId: z.uuid(),
  attempt: z.number().int().positive(),
  reason: nikRejectionReason,
  correctable: z.boolean(),
  rejectedAt: z.iso.datetime({ offset: true }),
});
export type NikRejectedV1Data = z.infer<typeof nikRejectedV1Data>;
export const NIK_REJECTED_V1 = 'nik.rejected.v1';
export const nikRejectedV1Event = defineEvent(NIK_REJECTED_V1, 'id.gelombang.nik.rejected.v1', nikRejectedV1Data);
export const nikRejectedV1 = nikRejectedV1Event.schema;
export type NikRejectedV1 = z.infer<typeof nikRejectedV1>;
