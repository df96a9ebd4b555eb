import {
  makeEvent,
  NIK_REJECTED_V1,
  NIK_VERIFIED_V1,
  nikRejectedV1,
  nikVerifiedV1,
  REGISTRATION_STATUS_CHANGED_V1,
  registrationStatusChangedV1,
  type NikRejectionReason,
} from '@gelombang/contracts';
import type { OutboxMessage } from '@gelombang/platform';

export const EVENT_SOURCE = 'urn:gelombang:nik-verification';

export type RegistryAnswer = 'MATCH' | 'NOT_FOUND' | 'DATA_MISMATCH' | 'INACTIVE';

export type Decision = { state: 'verified' } | { state: 'rejected'; reason: NikRejectionReason; correctable: boolean };

/**
 * What an answer means for the applicant. Not found and mismatch are usually a typo, so the applicant
 * may correct the NIK (a new attempt); an inactive NIK (deceased, replaced) cannot be fixed by typing.
 */
export function decide(answer: RegistryAnswer): Decision {
  switch (answer) {
    case 'MATCH':
      return { state: 'verified' };
    case 'NOT_FOUND':
      return { state: 'rejected', reason: 'NIK_NOT_FOUND', correctable: true };
    case 'DATA_MISMATCH':
      return { state: 'rejected', reason: 'DATA_MISMATCH', correctable: true };
    case 'INACTIVE':
      return { state: 'rejected', reason: 'NIK_INACTIVE', correctable: false };
  }
}

/**
 * The events announcing a decision, keyed by registration id: the NIK fact and the funnel status, both
 * carrying the attempt so an answer to an older attempt never overrides a newer one downstream.
 * Each is checked against its contract before it is written to the outbox.
 */
export function decisionEvents(
  check: { registrationId: string; attempt: number; nikIndex: string; provinceCode: string },
  decision: Decision,
  at: Date,
): OutboxMessage[] {
  const { registrationId, attempt } = check;
  const when = at.toISOString();
  const message = (topic: string, event: unknown) => ({ topic, key: registrationId, value: JSON.stringify(event) });
  if (decision.state === 'verified') {
    return [
      message(NIK_VERIFIED_V1, nikVerifiedV1.parse(makeEvent('id.gelombang.nik.verified.v1', EVENT_SOURCE, registrationId, {
        registrationId, attempt, nikIndex: check.nikIndex, provinceCode: check.provinceCode, verifiedAt: when,
      }))),
      message(REGISTRATION_STATUS_CHANGED_V1, registrationStatusChangedV1.parse(makeEvent('id.gelombang.registration.status-changed.v1', EVENT_SOURCE, registrationId, {
        registrationId, status: 'nik_verified' as const, attempt, changedAt: when,
      }))),
    ];
  }
  return [
    message(NIK_REJECTED_V1, nikRejectedV1.parse(makeEvent('id.gelombang.nik.rejected.v1', EVENT_SOURCE, registrationId, {
      registrationId, attempt, reason: decision.reason, correctable: decision.correctable, rejectedAt: when,
    }))),
    message(REGISTRATION_STATUS_CHANGED_V1, registrationStatusChangedV1.parse(makeEvent('id.gelombang.registration.status-changed.v1', EVENT_SOURCE, registrationId, {
      registrationId, status: 'nik_rejected' as const, reason: decision.reason, attempt, changedAt: when,
    }))),
  ];
}

/** Exponential back-off with jitter (half to full): replicas retrying together spread out. */
export function backoffMs(tries: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, tries - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}
