import { registrationStatusChangedV1Event, type RegistrationStatusChangedV1 } from '@gelombang/contracts';
import { eventConsumer, type EventConsumer } from '@gelombang/platform';
import type { EligibilityRepository } from '../data-access/eligibility-repository';

/**
 * The registrations the intake no longer counts (decision 0024: its projector decides which
 * registrations exist): rejected (a duplicate of another registration's address or NIK) or expired.
 * They may not enroll; a seat one of them holds already is left to an operator (it cannot arise when
 * the email and NIK services follow the same decision, and taking a seat away is not a consumer's call).
 */
export function statusChangedHandler(repository: EligibilityRepository) {
  return async (events: RegistrationStatusChangedV1[]) => {
    await repository.recordIntakeRejections(
      events
        .filter((e) => e.data.status === 'rejected_duplicate' || e.data.status === 'expired')
        .map((e) => ({ registrationId: e.data.registrationId, status: e.data.status, ...(e.data.reason ? { reason: e.data.reason } : {}) })),
    );
  };
}

/** The consumer of registration.status-changed.v1 (group `<CONSUMER_GROUP>-status`): who may no longer enroll. */
export const statusChangedConsumer = (o: { group: string; repository: EligibilityRepository }): EventConsumer =>
  eventConsumer(registrationStatusChangedV1Event, { group: o.group, handle: statusChangedHandler(o.repository) });
