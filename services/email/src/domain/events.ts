import {
  EMAIL_VERIFICATION_REQUESTED_V1,
  EMAIL_VERIFIED_V1,
  emailVerificationRequestedV1,
  emailVerifiedV1,
  makeEvent,
  NIK_VERIFICATION_REQUESTED_V1,
  nikVerificationRequestedV1,
  REGISTRATION_STATUS_CHANGED_V1,
  registrationStatusChangedV1,
} from '@gelombang/contracts';

export const EVENT_SOURCE = 'urn:gelombang:email';

export interface OutboxEvent {
  topic: string;
  key: string;
  value: string;
}

/** What the NIK check needs, exactly as the intake sealed it (this service never opens it). */
export interface SealedIdentity {
  registrationId: string;
  nikEnc: string;
  fullNameEnc: string;
  birthDateEnc: string;
  nikIndex: string;
  provinceCode: string;
}

// Every event is checked against its contract before it is written: a bad one fails the transaction
// here rather than a consumer downstream.
const outgoing = (topic: string, key: string, event: unknown, schema: { parse(v: unknown): unknown }): OutboxEvent => ({
  topic,
  key,
  value: JSON.stringify(schema.parse(event)),
});

export function verificationRequestedEvent(
  registrationId: string,
  data: { emailMasked: string; sendCount: number; sentAt: Date; expiresAt: Date },
): OutboxEvent {
  const event = makeEvent('id.gelombang.email.verification-requested.v1', EVENT_SOURCE, registrationId, {
    registrationId,
    emailMasked: data.emailMasked,
    sendCount: data.sendCount,
    sentAt: data.sentAt.toISOString(),
    expiresAt: data.expiresAt.toISOString(),
  });
  return outgoing(EMAIL_VERIFICATION_REQUESTED_V1, registrationId, event, emailVerificationRequestedV1);
}

/** The three facts of a verified address; the last one starts the registry check (attempt 1). */
export function verifiedEvents(who: SealedIdentity, verifiedAt: Date): OutboxEvent[] {
  const id = who.registrationId;
  const at = verifiedAt.toISOString();
  return [
    outgoing(EMAIL_VERIFIED_V1, id, makeEvent('id.gelombang.email.verified.v1', EVENT_SOURCE, id, { registrationId: id, verifiedAt: at }), emailVerifiedV1),
    outgoing(
      REGISTRATION_STATUS_CHANGED_V1,
      id,
      makeEvent('id.gelombang.registration.status-changed.v1', EVENT_SOURCE, id, { registrationId: id, status: 'email_verified' as const, changedAt: at }),
      registrationStatusChangedV1,
    ),
    outgoing(
      NIK_VERIFICATION_REQUESTED_V1,
      id,
      makeEvent('id.gelombang.nik.verification-requested.v1', EVENT_SOURCE, id, {
        registrationId: id,
        attempt: 1,
        requestedAt: at,
        pii: { nik: who.nikEnc, fullName: who.fullNameEnc, birthDate: who.birthDateEnc },
        nikIndex: who.nikIndex,
        provinceCode: who.provinceCode,
      }),
      nikVerificationRequestedV1,
    ),
  ];
}
