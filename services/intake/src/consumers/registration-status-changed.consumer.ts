import { registrationStatusChangedV1Event, type EventMessage, type RegistrationStatusChangedV1 } from '@gelombang/contracts';
import type { RegistrationsRepository } from '../data-access/registrations-repository';
import { events } from '../domain/events';

export interface StatusChangedDeps {
  repository: RegistrationsRepository;
  publish: (message: EventMessage) => Promise<void>;
  /** The registry matched this registration: it holds the NIK in Redis (the fast path's "NIK_HELD"). */
  holdNik: (nikIndex: string, registrationId: string) => Promise<void>;
}

/**
 * Keeps GET /v1/registrations/:id in step with the later funnel stages. When the registry matches a
 * registration (nik_verified), it holds its NIK: every other registration naming that NIK which is not
 * matched itself — a squatter's with a made-up name, an owner's forgotten second one — ends
 * rejected_duplicate (reason NIK_HELD), announced like any status change. Idempotent: a replay finds
 * nothing left to reject.
 */
export function statusChangedHandler(deps: StatusChangedDeps) {
  return async (batch: RegistrationStatusChangedV1[]) => {
    await deps.repository.applyStatus(
      batch
        // Its own verdicts on submissions (stored already when it announced them) change nothing here.
        .filter((e) => e.data.status !== 'rejected_duplicate' && e.data.status !== 'pending_email_verification')
        .map((e) => ({
          registrationId: e.data.registrationId,
          status: e.data.status,
          eventId: e.id,
          changedAt: e.data.changedAt,
          ...(e.data.attempt !== undefined ? { attempt: e.data.attempt } : {}),
          ...(e.data.reason !== undefined ? { reason: e.data.reason } : {}),
        })),
    );
    await holdMatchedNiks(
      deps,
      batch.filter((x) => x.data.status === 'nik_verified').map((x) => x.data.registrationId),
    );
  };
}

/**
 * The registry matched these registrations: each holds its NIK, and the others naming it end
 * rejected_duplicate. Called for nik_verified events, and by the submission projector for rows stored
 * after their match arrived (a status event may overtake its submission).
 */
export async function holdMatchedNiks(deps: StatusChangedDeps, matched: string[]): Promise<void> {
  for (const id of matched) {
    const { nikIndex, rejected } = await deps.repository.rejectOthersNamingNik(id);
    if (nikIndex) await deps.holdNik(nikIndex, id);
    const changedAt = new Date().toISOString();
    await Promise.all(
      rejected.map((registrationId) =>
        deps.publish(events.message(registrationStatusChangedV1Event, { registrationId, status: 'rejected_duplicate', reason: 'NIK_HELD', changedAt })),
      ),
    );
  }
}
