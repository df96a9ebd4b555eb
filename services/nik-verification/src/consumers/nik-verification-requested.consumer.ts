import { nikVerificationRequestedV1, type NikVerificationRequestedV1 } from '@gelombang/contracts';
import type { ConsumedMessage } from '@gelombang/platform';
import type { ChecksRepository } from '../data-access/checks-repository';

export const parseRequested = (m: ConsumedMessage): NikVerificationRequestedV1 => nikVerificationRequestedV1.parse(JSON.parse(m.value));

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
