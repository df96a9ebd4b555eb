import { registrationStatusChangedV1Event, type RegistrationSubmittedV1, type EventMessage } from '@gelombang/contracts';
import type { RegistrationsRepository } from '../data-access/registrations-repository';
import { events } from '../domain/events';
import { holdMatchedNiks } from './registration-status-changed.consumer';

/**
 * Projects submissions into PostgreSQL in batches. A submission the intake accepted with a conflict
 * (its event says which), or one that slipped past the Redis fast path (Redis down or restarted) and
 * loses on the email's unique index, is stored as rejected_duplicate and announced on
 * registration.status-changed.v1 with the reason. A NIK is held by the registration the registry
 * matches (registration-status-changed.consumer.ts).
 */
export function submittedHandler(deps: {
  repository: RegistrationsRepository;
  publish: (message: EventMessage) => Promise<void>;
  onProjected: (inserted: number, duplicates: number) => void;
  /** Makes the stored registrations' NIK and email claims permanent (they carry a TTL until then). */
  settle: (stored: Array<{ registrationId: string; nikIndex: string; emailIndex: string }>) => Promise<void>;
  holdNik?: (nikIndex: string, registrationId: string) => Promise<void>;
}) {
  return async (submitted: RegistrationSubmittedV1[]) => {
    const { inserted, duplicates } = await deps.repository.insertSubmitted(submitted);
    const stored = new Set(inserted);
    await deps.settle(
      submitted
        .filter((e) => stored.has(e.data.registrationId))
        .map((e) => ({ registrationId: e.data.registrationId, nikIndex: e.data.blindIndex.nik, emailIndex: e.data.blindIndex.email })),
    );
    await Promise.all(
      duplicates.map(({ registrationId, reason }) =>
        deps.publish(
          events.message(registrationStatusChangedV1Event, {
            registrationId,
            status: 'rejected_duplicate',
            reason,
            changedAt: new Date().toISOString(),
          }),
        ),
      ),
    );
    // A match and a submission naming its NIK may be projected in either order: once both rows exist
    // the matched one holds the NIK and the others end rejected_duplicate, whichever came first.
    if (deps.holdNik && inserted.length) {
      const early = await deps.repository.matchedFor(inserted);
      if (early.length) await holdMatchedNiks({ repository: deps.repository, publish: deps.publish, holdNik: deps.holdNik }, early);
    }
    deps.onProjected(inserted.length, duplicates.length);
  };
}
