import {
  emailVerificationRequestedV1Event,
  emailVerifiedV1Event,
  eventBuilder,
  nikVerificationRequestedV1Event,
  registrationStatusChangedV1Event,
  type EventMessage,
} from '@gelombang/contracts';

/** Every event the email service writes is built (and checked against its contract) here. */
export const events = eventBuilder('urn:gelombang:email');

/** What the NIK check needs, exactly as the intake sealed it (this service never opens it). */
export interface SealedIdentity {
  registrationId: string;
  nikEnc: string;
  fullNameEnc: string;
  birthDateEnc: string;
  nikIndex: string;
  provinceCode: string;
}

export function verificationRequestedEvent(
  registrationId: string,
  data: { emailMasked: string; sendCount: number; sentAt: Date; expiresAt: Date },
): EventMessage {
  return events.message(emailVerificationRequestedV1Event, {
    registrationId,
    emailMasked: data.emailMasked,
    sendCount: data.sendCount,
    sentAt: data.sentAt.toISOString(),
    expiresAt: data.expiresAt.toISOString(),
  });
}

/** The three facts of a verified address; the last one starts the registry check (attempt 1). */
export function verifiedEvents(who: SealedIdentity, verifiedAt: Date): EventMessage[] {
  const registrationId = who.registrationId;
  const at = verifiedAt.toISOString();
  return [
    events.message(emailVerifiedV1Event, { registrationId, verifiedAt: at }),
    events.message(registrationStatusChangedV1Event, { registrationId, status: 'email_verified', changedAt: at }),
    events.message(nikVerificationRequestedV1Event, {
      registrationId,
      attempt: 1,
      requestedAt: at,
      pii: { nik: who.nikEnc, fullName: who.fullNameEnc, birthDate: who.birthDateEnc },
      nikIndex: who.nikIndex,
      provinceCode: who.provinceCode,
    }),
  ];
}
