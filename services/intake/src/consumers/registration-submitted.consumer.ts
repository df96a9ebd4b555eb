import { registrationStatusChangedV1Event, type RegistrationSubmittedV1, type EventMessage } from '@gelombang/contracts';
import type { RegistrationsRepository } from '../data-access/registrations-repository';
import { events } from '../domain/events';

/**
 * Projects submissions into PostgreSQL in batches. A duplicate that slipped past the Redis fast path
 * (Redis down or restarted) loses on the unique index, is stored as rejected_duplicate and announced
 * on registration.status-changed.v1 — never two people with one NIK.
 */
export function submittedHandler(deps: {
  repository: RegistrationsRepository;
  publish: (message: EventMessage) => Promise<void>;
  onProjected: (inserted: number, duplicates: number) => void;
}) {
  return async (submitted: RegistrationSubmittedV1[]) => {
    const { inserted, duplicates } = await deps.repository.insertSubmitted(submitted);
    await Promise.all(
      duplicates.map((registrationId) =>
        deps.publish(
          events.message(registrationStatusChangedV1Event, {
            registrationId,
            status: 'rejected_duplicate',
            reason: 'DUPLICATE_NIK_OR_EMAIL',
            changedAt: new Date().toISOString(),
          }),
        ),
      ),
    );
    deps.onProjected(inserted.length, duplicates.length);
  };
}
