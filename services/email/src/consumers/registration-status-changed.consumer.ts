import { registrationStatusChangedV1Event, type RegistrationStatusChangedV1 } from '@gelombang/contracts';
import { eventConsumer, type EventConsumer } from '@gelombang/platform';
import type { VerificationsRepository } from '../data-access/verifications-repository';

/** The status change that owes a registration the NIK_HELD notice after its submission. */
const rejectedNikHeld = (e: RegistrationStatusChangedV1) => e.data.status === 'rejected_duplicate' && e.data.reason === 'NIK_HELD';

/**
 * When the registry matches a registration, the intake rejects every other registration naming that
 * NIK which is not matched itself (a squatter's, an owner's forgotten second one) with
 * rejected_duplicate/NIK_HELD. Each is owed the NIK_HELD notice once, and its codes stop working; a
 * verified one stays verified (README: "Conflicts"). Every other status change is ignored, and so is
 * this one for a registration already owing a notice (born conflicted: the intake announces its
 * rejection too) or not stored here.
 */
export function statusChangedHandler(deps: { repository: VerificationsRepository; onNoticed: (count: number) => void }) {
  return async (events: RegistrationStatusChangedV1[]) => {
    // The intake expired it (never verified in its pending window): its verification goes, so its
    // codes die, nothing more is mailed, and the address may verify again for a new registration.
    const expired = [...new Set(events.filter((e) => e.data.status === 'expired').map((e) => e.data.registrationId))];
    if (expired.length) await deps.repository.supersedeUnverified(expired);
    const ids = [...new Set(events.filter(rejectedNikHeld).map((e) => e.data.registrationId))];
    if (ids.length === 0) return;
    const noticed = await deps.repository.oweNikHeldNotice(ids);
    deps.onNoticed(noticed.length);
  };
}

/** The consumer of registration.status-changed.v1 (group `<CONSUMER_GROUP>-status`); `onNoticed` wakes the sender. */
export const statusChangedConsumer = (o: { group: string; repository: VerificationsRepository; onNoticed: (count: number) => void }): EventConsumer =>
  eventConsumer(registrationStatusChangedV1Event, {
    group: o.group,
    handle: statusChangedHandler({ repository: o.repository, onNoticed: o.onNoticed }),
  });
