import { registrationStatusChangedV1Event, type RegistrationStatusChangedV1 } from '@gelombang/contracts';
import { eventConsumer, type EventConsumer } from '@gelombang/platform';
import type { ChecksRepository } from '../data-access/checks-repository';

/**
 * The registrations the intake no longer counts (decision 0024: its projector is the one authority on
 * which registrations exist): rejected as a duplicate of another registration's address or by a
 * conflict it saw at the door, or expired unverified. NIK_HELD is not among them: that rejection
 * follows this service's own hold (the registry matched another registration), which already settles
 * the checks it concerns as NIK_ALREADY_HELD.
 */
export const rejectedByIntake = (e: RegistrationStatusChangedV1): boolean =>
  e.data.status === 'expired' || (e.data.status === 'rejected_duplicate' && e.data.reason !== 'NIK_HELD');

/** Remembers those registrations and drops their checks not yet decided: no registry call, no hold. */
export function statusChangedHandler(deps: { repository: ChecksRepository; onDropped?: (checks: number) => void }) {
  return async (events: RegistrationStatusChangedV1[]) => {
    const rejected = events
      .filter(rejectedByIntake)
      .map((e) => ({ registrationId: e.data.registrationId, status: e.data.status, ...(e.data.reason ? { reason: e.data.reason } : {}) }));
    if (rejected.length === 0) return;
    const dropped = await deps.repository.recordIntakeRejections(rejected);
    deps.onDropped?.(dropped);
  };
}

/** The consumer of registration.status-changed.v1 (group `<CONSUMER_GROUP>-status`). */
export const statusChangedConsumer = (o: { group: string; repository: ChecksRepository; onDropped?: (checks: number) => void }): EventConsumer =>
  eventConsumer(registrationStatusChangedV1Event, { group: o.group, handle: statusChangedHandler(o) });
