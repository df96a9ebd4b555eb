import { z } from 'zod';
import { defineEvent } from '../cloudevents';

/** A value sealed with AES-256-GCM by the platform's PiiCipher: `v1.<kid>.<iv>.<ct>`. */
export const sealed = z.string().regex(/^v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be a sealed value');

export const registrationConflict = z.enum(['NIK_HELD', 'NIK_BUSY', 'EMAIL_REGISTERED']);
export type RegistrationConflict = z.infer<typeof registrationConflict>;

export const registrationSubmittedV1Data = z.object({
  registrationId: z.uuid(),
  submittedAt: z.iso.datetime({ offset: true }),
  /** Personal data, each field sealed; the AAD is the field name. */
  pii: z.object({
    nik: sealed,
    email: sealed,
    phone: sealed,
    fullName: sealed,
    birthDate: sealed,
    birthPlace: sealed.optional(),
    kkNumber: sealed.optional(),
  }),
  /** HMAC-SHA256 blind indexes of the normalised NIK and email, for uniqueness without decryption. */
  blindIndex: z.object({ nik: z.string().min(16), email: z.string().min(16) }),
  emailMasked: z.string(),
  /** Province of issue (first two NIK digits): not personal on its own, useful for capacity planning. */
  provinceCode: z.string().regex(/^\d{2}$/),
  /** SHA-256 of the client's Idempotency-Key, if one was sent. */
  idempotencyKeyHash: z.string().optional(),
  /**
   * Set when the submission cannot hold what it names (issue #13): it was answered 202 like any other, so
   * that the answer says nothing about who is registered, and it ends rejected_duplicate. NIK_HELD: the
   * registry matched another registration to this NIK; NIK_BUSY: too many pending registrations name it;
   * EMAIL_REGISTERED: another registration has this address. The email service mails the address's owner
   * what it means instead of a code. Absent: an ordinary registration. (Added 2026-12-03, optional: older
   * consumers ignore it.)
   */
  conflict: registrationConflict.optional(),
});
export type RegistrationSubmittedV1Data = z.infer<typeof registrationSubmittedV1Data>;

export const REGISTRATION_SUBMITTED_V1 = 'registration.submitted.v1';
export const registrationSubmittedV1Event = defineEvent(REGISTRATION_SUBMITTED_V1, 'id.gelombang.registration.submitted.v1', registrationSubmittedV1Data);
export const registrationSubmittedV1 = registrationSubmittedV1Event.schema;
export type RegistrationSubmittedV1 = z.infer<typeof registrationSubmittedV1>;
