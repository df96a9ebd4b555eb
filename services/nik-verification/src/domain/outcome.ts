import { nikRejectedV1Event, nikVerifiedV1Event, registrationStatusChangedV1Event, type EventMessage, type NikRejectionReason } from '@gelombang/contracts';
import { events } from './events';

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
 * Another registration holds this NIK: the registry matched it there first, and at most one
 * registration per NIK is ever verified. Recorded instead of a match (checks-repository.ts decide), or
 * without calling the registry when the hold existed before the call (checker.ts). Not correctable:
 * the NIK is the owner's, typing it again cannot make it this registration's.
 */
export const ALREADY_HELD: Decision = { state: 'rejected', reason: 'NIK_ALREADY_HELD', correctable: false };

/**
 * The events announcing a decision, keyed by registration id: the NIK fact and the funnel status, both
 * carrying the attempt so an answer to an older attempt never overrides a newer one downstream.
 * Each is checked against its contract (by the builder) before it is written to the outbox.
 */
export function decisionEvents(
  check: { registrationId: string; attempt: number; nikIndex: string; provinceCode: string },
  decision: Decision,
  at: Date,
): EventMessage[] {
  const { registrationId, attempt } = check;
  const when = at.toISOString();
  if (decision.state === 'verified') {
    return [
      events.message(nikVerifiedV1Event, { registrationId, attempt, nikIndex: check.nikIndex, provinceCode: check.provinceCode, verifiedAt: when }),
      events.message(registrationStatusChangedV1Event, { registrationId, status: 'nik_verified', attempt, changedAt: when }),
    ];
  }
  const { reason, correctable } = decision;
  return [
    events.message(nikRejectedV1Event, { registrationId, attempt, reason, correctable, rejectedAt: when }),
    events.message(registrationStatusChangedV1Event, { registrationId, status: 'nik_rejected', reason, attempt, changedAt: when }),
  ];
}
