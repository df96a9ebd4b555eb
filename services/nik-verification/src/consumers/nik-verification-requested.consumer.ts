import { nikVerificationRequestedV1Event, type NikVerificationRequestedV1 } from '@gelombang/contracts';
import { eventConsumer, type PiiCipher } from '@gelombang/platform';
import type { ChecksRepository } from '../data-access/checks-repository';

/**
 * Proves this service can open the sealed NIK of a request the contract accepted: one sealed with a key
 * we do not hold could never be checked, so it is dead-lettered (kept with its origin, replayable once
 * the key is configured) rather than queued. A key removed later still parks the check (checker.ts).
 */
export const sealedForUs =
  (cipher: PiiCipher) =>
  (event: NikVerificationRequestedV1): void => {
    if (!cipher.canOpen(event.data.pii.nik, 'nik')) throw new Error('pii.nik is sealed with a key this service does not hold');
  };

/**
 * Queues one check per (registration, attempt), storing the sealed fields as received. Replays and
 * duplicates hit the primary key and change nothing, so redelivery never causes a second check.
 */
export function requestedHandler(deps: { repository: ChecksRepository; onQueued: (queued: number, replays: number) => void }) {
  return async (events: NikVerificationRequestedV1[]) => {
    const queued = await deps.repository.insertRequested(
      events.map((e) => ({
        registrationId: e.data.registrationId,
        attempt: e.data.attempt,
        eventId: e.id,
        nikEnc: e.data.pii.nik,
        fullNameEnc: e.data.pii.fullName,
        birthDateEnc: e.data.pii.birthDate,
        nikIndex: e.data.nikIndex,
        provinceCode: e.data.provinceCode,
        requestedAt: e.data.requestedAt,
      })),
    );
    deps.onQueued(queued, events.length - queued);
  };
}

/** The consumer group over nik.verification-requested.v1: the contract, then sealedForUs, then the queue. */
export function requestedConsumer(deps: {
  group: string;
  cipher: PiiCipher;
  repository: ChecksRepository;
  onQueued: (queued: number, replays: number) => void;
  onDeadLettered: () => void;
}) {
  return eventConsumer(nikVerificationRequestedV1Event, {
    group: deps.group,
    accept: sealedForUs(deps.cipher),
    handle: requestedHandler(deps),
    onDeadLettered: deps.onDeadLettered,
  });
}
