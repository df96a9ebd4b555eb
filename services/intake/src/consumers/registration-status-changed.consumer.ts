import type { RegistrationStatusChangedV1 } from '@gelombang/contracts';
import type { RegistrationsRepository } from '../data-access/registrations-repository';

/** Keeps GET /v1/registrations/:id in step with the later funnel stages. */
export function statusChangedHandler(repository: RegistrationsRepository) {
  return async (events: RegistrationStatusChangedV1[]) => {
    await repository.applyStatus(
      events
        .filter((e) => e.data.status !== 'rejected_duplicate')
        .map((e) => ({
          registrationId: e.data.registrationId,
          status: e.data.status,
          eventId: e.id,
          changedAt: e.data.changedAt,
          ...(e.data.attempt !== undefined ? { attempt: e.data.attempt } : {}),
          ...(e.data.reason !== undefined ? { reason: e.data.reason } : {}),
        })),
    );
  };
}
