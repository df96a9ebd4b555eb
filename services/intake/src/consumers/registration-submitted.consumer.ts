import {
  makeEvent,
  REGISTRATION_STATUS_CHANGED_V1,
  registrationSubmittedV1,
  type RegistrationSubmittedV1,
} from '@gelombang/contracts';
import type { ConsumedMessage } from '@gelombang/platform';
import type { RegistrationsRepository } from '../data-access/registrations-repository';
import { EVENT_SOURCE } from '../domain/register';

export const parseSubmitted = (m: ConsumedMessage): RegistrationSubmittedV1 => registrationSubmittedV1.parse(JSON.parse(m.value));

/**
 * Projects submissions into PostgreSQL in batches. A duplicate that slipped past the Redis fast path
 * (Redis down or restarted) loses on the unique index, is stored as rejected_duplicate and announced
 * on registration.status-changed.v1 — never two people with one NIK.
 */
export function submittedHandler(deps: {
  repository: RegistrationsRepository;
  publish: (topic: string, key: string, value: string) => Promise<void>;
  onProjected: (inserted: number, duplicates: number) => void;
}) {
  return async (events: RegistrationSubmittedV1[]) => {
    const { inserted, duplicates } = await deps.repository.insertSubmitted(events);
    await Promise.all(
      duplicates.map((registrationId) =>
        deps.publish(
          REGISTRATION_STATUS_CHANGED_V1,
          registrationId,
          JSON.stringify(
            makeEvent('id.gelombang.registration.status-changed.v1', EVENT_SOURCE, registrationId, {
              registrationId,
              status: 'rejected_duplicate' as const,
              reason: 'DUPLICATE_NIK_OR_EMAIL',
              changedAt: new Date().toISOString(),
            }),
          ),
        ),
      ),
    );
    deps.onProjected(inserted.length, duplicates.length);
  };
}
