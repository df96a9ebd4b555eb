import { registrationStatusChangedV1Event, type RegistrationSubmittedV1, type EventMessage } from '@gelombang/contracts';
import type { RegistrationsRepository } from '../data-access/registrations-repository';
import { events } from '../domain/events';
import { holdMatchedNiks } from './registration-status-changed.consumer';

/**
 * Projects submissions into PostgreSQL in batches, and announces each one's verdict on
 * registration.status-changed.v1: the projector is the one authority on which registration holds an
 * address (decision 0024). A stored registration is announced `pending_email_verification` (the email
 * service mails nobody before it hears this); a submission the intake accepted with a conflict (its
 * event says which), or one that slipped past the Redis fast path (Redis down, restarted, or a claim
 * that lapsed) and loses on the email's unique index, is stored as rejected_duplicate and announced
 * with the reason. A redelivered submission (the projector died after its commit, before its
 * announcements) is announced again from what is stored, so no verdict is lost to a crash. A NIK is
 * held by the registration the registry matches (registration-status-changed.consumer.ts).
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
    const rejected = new Set(duplicates.map((d) => d.registrationId));
    const replayed = [...new Set(submitted.map((e) => e.data.registrationId).filter((id) => !stored.has(id) && !rejected.has(id)))];
    const again = replayed.length ? await deps.repository.storedStatuses(replayed) : [];
    const conflictOf = new Map(submitted.map((e) => [e.data.registrationId, e.data.conflict ?? 'DUPLICATE_NIK_OR_EMAIL']));
    await deps.settle(
      submitted
        .filter((e) => stored.has(e.data.registrationId))
        .map((e) => ({ registrationId: e.data.registrationId, nikIndex: e.data.blindIndex.nik, emailIndex: e.data.blindIndex.email })),
    );
    const changedAt = new Date().toISOString();
    type Verdict = { registrationId: string; status: 'pending_email_verification' | 'rejected_duplicate'; reason?: string };
    const verdicts: Verdict[] = [
      ...inserted.map((registrationId) => ({ registrationId, status: 'pending_email_verification' as const })),
      ...duplicates.map(({ registrationId, reason }) => ({ registrationId, status: 'rejected_duplicate' as const, reason })),
      // Only the verdict the submission itself got (an expiry or a later NIK_HELD has its own announcement).
      ...again.flatMap(({ registrationId, status }): Verdict[] => {
        if (status === 'pending_email_verification') return [{ registrationId, status }];
        if (status === 'rejected_duplicate') return [{ registrationId, status, reason: conflictOf.get(registrationId)! }];
        return [];
      }),
    ];
    await Promise.all(verdicts.map((v) => deps.publish(events.message(registrationStatusChangedV1Event, { ...v, changedAt }))));
    // A match and a submission naming its NIK may be projected in either order: once both rows exist
    // the matched one holds the NIK and the others end rejected_duplicate, whichever came first.
    if (deps.holdNik && inserted.length) {
      const early = await deps.repository.matchedFor(inserted);
      if (early.length) await holdMatchedNiks({ repository: deps.repository, publish: deps.publish, holdNik: deps.holdNik }, early);
    }
    deps.onProjected(inserted.length, duplicates.length);
  };
}
