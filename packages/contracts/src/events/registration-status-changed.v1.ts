import { z } from 'zod';
import { defineEvent } from '../cloudevents';

/** The funnel, in order. Each later service moves a registration forward (or to a rejected state). */
export const registrationStatus = z.enum([
  'pending_email_verification',
  'email_verified',
  /** The applicant corrected the NIK after a rejection; a new registry check is queued. */
  'nik_resubmitted',
  'nik_verified',
  'nik_rejected',
  'enrolled',
  /** Left the batch (enrollment.withdrawn.v1); may enroll again, which makes it `enrolled` once more. */
  'withdrawn',
  'rejected_duplicate',
  /**
   * Never verified its email within the pending window (the intake's INTAKE_PENDING_REGISTRATION_TTL_SEC,
   * 72 h by default): what it claimed is released. Added 2026-12-03.
   */
  'expired',
]);
export type RegistrationStatus = z.infer<typeof registrationStatus>;

export const registrationStatusChangedV1Data = z.object({
  registrationId: z.uuid(),
  status: registrationStatus,
  /** A code, never free text with personal data. */
  reason: z
    .string()
    .regex(/^[A-Z0-9_]+$/)
    .optional(),
  /**
   * NIK statuses only: which check this is (1 = the first, +1 per correction). An answer to an older
   * attempt never overwrites a newer one.
   */
  attempt: z.number().int().positive().optional(),
  changedAt: z.iso.datetime({ offset: true }),
});
export type RegistrationStatusChangedV1Data = z.infer<typeof registrationStatusChangedV1Data>;

export const REGISTRATION_STATUS_CHANGED_V1 = 'registration.status-changed.v1';
export const registrationStatusChangedV1Event = defineEvent(
  REGISTRATION_STATUS_CHANGED_V1,
  'id.gelombang.registration.status-changed.v1',
  registrationStatusChangedV1Data,
);
export const registrationStatusChangedV1 = registrationStatusChangedV1Event.schema;
export type RegistrationStatusChangedV1 = z.infer<typeof registrationStatusChangedV1>;
