import { registrationStatusChangedV1Event, type RegistrationStatusChangedV1 } from '@gelombang/contracts';
import { eventConsumer, type EventConsumer } from '@gelombang/platform';
import type { VerificationsRepository } from '../data-access/verifications-repository';
import { verdictOf } from '../domain/verdicts';

/**
 * The intake's projector decides which registration holds an address (decision 0024) and announces
 * it: `pending_email_verification` (stored: its code is mailed now), `rejected_duplicate` (its
 * address or NIK is another registration's: the notice of that kind is owed once, and its codes stop
 * working; a verified one stays verified, README "Conflicts"). The verdicts are kept, so one that
 * overtakes its submission is applied when the submission comes. `expired`: the pending window passed
 * unverified. Every other status change is ignored.
 */
export function statusChangedHandler(deps: { repository: VerificationsRepository; onNoticed: (count: number) => void; onAdmitted?: (count: number) => void }) {
  return async (events: RegistrationStatusChangedV1[]) => {
    // The intake expired it (never verified in its pending window): its verification goes, so its
    // codes die, nothing more is mailed, and the address may verify again for a new registration.
    const expired = [...new Set(events.filter((e) => e.data.status === 'expired').map((e) => e.data.registrationId))];
    if (expired.length) await deps.repository.supersedeUnverified(expired);
    const verdicts = events.flatMap((e) => verdictOf(e.data) ?? []);
    if (verdicts.length === 0) return;
    const { admitted, noticed } = await deps.repository.recordVerdicts(verdicts);
    deps.onAdmitted?.(admitted.length);
    deps.onNoticed(noticed.length);
  };
}

/** The consumer of registration.status-changed.v1 (group `<CONSUMER_GROUP>-status`); `onNoticed`/`onAdmitted` wake the sender. */
export const statusChangedConsumer = (o: {
  group: string;
  repository: VerificationsRepository;
  onNoticed: (count: number) => void;
  onAdmitted?: (count: number) => void;
}): EventConsumer =>
  eventConsumer(registrationStatusChangedV1Event, {
    group: o.group,
    handle: statusChangedHandler({ repository: o.repository, onNoticed: o.onNoticed, ...(o.onAdmitted ? { onAdmitted: o.onAdmitted } : {}) }),
  });
