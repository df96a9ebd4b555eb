import { registrationSubmittedV1Event, type RegistrationSubmittedV1 } from '@gelombang/contracts';
import { eventConsumer, type EventConsumer, type PiiCipher } from '@gelombang/platform';
import type { VerificationsRepository } from '../data-access/verifications-repository';

/**
 * Proves this service can open the sealed address: an event sealed with a key we do not hold could
 * never be mailed, so it is dead-lettered (kept with its origin, replayable once the key is
 * configured) instead of queuing a mail that would retry forever and spend quota.
 */
export const sealedWithAKeyWeHold =
  (cipher: PiiCipher) =>
  (event: RegistrationSubmittedV1): void => {
    if (!cipher.canOpen(event.data.pii.email, 'email')) throw new Error('pii.email is sealed with a key this service does not hold');
  };

/** What a batch of submissions became: rows owing a code mail, rows owing a notice, replays, duplicates. */
export interface StoredOutcome {
  stored: number;
  notices: number;
  replays: number;
  duplicates: number;
}

/**
 * Stores one verification per new registration (the mail sender picks it up). Replays and duplicate
 * deliveries are skipped by the primary key; a second registration for an address already held is the
 * duplicate the intake rejects, so nothing is stored or mailed for it. A registration whose event
 * carries a conflict is stored like any other but owes the notice of that kind instead of a code
 * (README: "Conflicts"), so that its routes answer as for any registration.
 */
export function submittedHandler(deps: { repository: VerificationsRepository; onStored: (outcome: StoredOutcome) => void }) {
  return async (events: RegistrationSubmittedV1[]) => {
    const r = await deps.repository.insertSubmitted(events);
    const stored = new Set(r.stored);
    const notices = new Set(events.filter((e) => e.data.conflict && stored.has(e.data.registrationId)).map((e) => e.data.registrationId)).size;
    deps.onStored({ stored: stored.size - notices, notices, replays: r.replays.length, duplicates: r.duplicates.length });
  };
}

/** The consumer of registration.submitted.v1: stores what the sender mails; `onStored` wakes it. */
export const submittedConsumer = (o: {
  group: string;
  cipher: PiiCipher;
  repository: VerificationsRepository;
  onStored: (outcome: StoredOutcome) => void;
}): EventConsumer =>
  eventConsumer(registrationSubmittedV1Event, {
    group: o.group,
    accept: sealedWithAKeyWeHold(o.cipher),
    handle: submittedHandler({ repository: o.repository, onStored: o.onStored }),
  });
