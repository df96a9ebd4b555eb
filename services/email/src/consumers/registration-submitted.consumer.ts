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

/** What a batch of submissions became: rows owing a code mail, rows owing a notice, rows awaiting the intake's verdict, replays. */
export interface StoredOutcome {
  stored: number;
  notices: number;
  waiting: number;
  replays: number;
}

/**
 * Stores one verification per new registration; replays and duplicate deliveries are skipped by the
 * primary key. Which of two registrations naming one address holds it is the intake projector's
 * decision, not this consumer's order of arrival (decision 0024): a row owes its code mail once the
 * projector announced it stored (registration-status-changed.consumer.ts), and the notice of a
 * duplicate once it announced it rejected. A registration whose event carries a conflict was rejected
 * by the intake already: it owes the notice of that kind at once (README: "Conflicts").
 */
export function submittedHandler(deps: { repository: VerificationsRepository; onStored: (outcome: StoredOutcome) => void }) {
  return async (events: RegistrationSubmittedV1[]) => {
    const r = await deps.repository.insertSubmitted(events);
    deps.onStored({
      stored: r.stored.length - r.notices.length - r.waiting.length,
      notices: r.notices.length,
      waiting: r.waiting.length,
      replays: r.replays.length,
    });
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
