import { nikVerifiedV1Event, type NikVerifiedV1 } from '@gelombang/contracts';
import { eventConsumer, type EventConsumer } from '@gelombang/platform';
import type { EligibilityRepository } from '../data-access/eligibility-repository';

/** Records who may enroll. Idempotent: replays and older attempts change nothing. */
export function nikVerifiedHandler(repository: EligibilityRepository, onStored: (rows: number) => void) {
  return async (events: NikVerifiedV1[]) => {
    const rows = await repository.upsert(
      events.map((e) => ({
        registrationId: e.data.registrationId,
        nikIndex: e.data.nikIndex,
        provinceCode: e.data.provinceCode,
        verifiedAt: e.data.verifiedAt,
        attempt: e.data.attempt,
        eventId: e.id,
      })),
    );
    onStored(rows);
  };
}

/** The consumer of nik.verified.v1: who may enroll. */
export const nikVerifiedConsumer = (o: { group: string; repository: EligibilityRepository; onStored: (rows: number) => void }): EventConsumer =>
  eventConsumer(nikVerifiedV1Event, { group: o.group, handle: nikVerifiedHandler(o.repository, o.onStored) });
