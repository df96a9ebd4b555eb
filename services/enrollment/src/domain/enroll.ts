import { newId } from '@gelombang/contracts';
import type { Decision, ErrorDefinition, OutboxMessage } from '@gelombang/platform';
import type { Enrollment, EnrollResult, PersonState } from '../data-access/enrollments-repository';
import type { FlagState } from '../data-access/seat-flags';
import {
  ENROLLMENT_ALREADY_ENROLLED,
  ENROLLMENT_BATCH_CLOSED,
  ENROLLMENT_BATCH_FULL,
  ENROLLMENT_BATCH_NOT_FOUND,
  ENROLLMENT_BATCH_NOT_OPEN,
  ENROLLMENT_NOT_ELIGIBLE,
} from '../errors';
import { phaseAt, type BatchDefinition } from './batch-window';
import { enrolledEvents } from './events';

/** What the use case needs from the outside world; app.ts wires the real adapters in. */
export interface EnrollPorts {
  /** Batch definitions are immutable, so the adapter may cache them. */
  batch(batchId: string): Promise<BatchDefinition | undefined>;
  person(registrationId: string): Promise<PersonState>;
  flags: { read(batchId: string): Promise<FlagState>; markFull(batchId: string, seen: FlagState): Promise<boolean> };
  admit(batchId: string): Promise<Decision>;
  enroll(input: {
    enrollmentId: string;
    registrationId: string;
    nikIndex: string;
    batchId: string;
    enrolledAt: string;
    events: OutboxMessage[];
  }): Promise<EnrollResult>;
  now(): Date;
}

export type EnrollOutcome =
  | { kind: 'enrolled'; enrollment: Pick<Enrollment, 'enrollmentId' | 'registrationId' | 'batchId'> & { enrolledAt: string }; replayed: boolean }
  | { kind: 'refused'; error: ErrorDefinition; answeredBy: 'memory' | 'redis' | 'postgres' }
  | { kind: 'throttled'; retryAfterMs: number };

const asView = (e: Enrollment) => ({
  enrollmentId: e.enrollmentId,
  registrationId: e.registrationId,
  batchId: e.batchId,
  enrolledAt: e.enrolledAt.toISOString(),
});
const refused = (error: ErrorDefinition, answeredBy: 'memory' | 'redis' | 'postgres'): EnrollOutcome => ({ kind: 'refused', error, answeredBy });

/** An active seat of the person answers the request: the same one again, or a refusal. */
function fromActive(active: Enrollment[], registrationId: string, batchId: string): EnrollOutcome | undefined {
  const same = active.find((e) => e.registrationId === registrationId && e.batchId === batchId);
  if (same) return { kind: 'enrolled', enrollment: asView(same), replayed: true };
  if (active.length > 0) return refused(ENROLLMENT_ALREADY_ENROLLED, 'postgres');
  return undefined;
}

/**
 * Enrolls a registration into a batch. The cheap answers come first (the batch definition from
 * memory, one indexed read of the person, the Redis flag, the admission bucket); only then does the
 * request join the queue on the batch's row, where PostgreSQL decides. Every early refusal is one the
 * database would give too, so the early checks can be stale or missing without breaking a promise.
 */
export async function enroll(ports: EnrollPorts, registrationId: string, batchId: string): Promise<EnrollOutcome> {
  const batch = await ports.batch(batchId);
  if (!batch) return refused(ENROLLMENT_BATCH_NOT_FOUND, 'postgres');
  // Nobody can hold a seat before the opening, so there is no replay to find: answer from memory.
  if (phaseAt(batch, ports.now()) === 'scheduled') return refused(ENROLLMENT_BATCH_NOT_OPEN, 'memory');

  const person = await ports.person(registrationId);
  if (!person.eligible) return refused(ENROLLMENT_NOT_ELIGIBLE, 'postgres');
  // Before the flag and the bucket: the winner of the last seat retrying must get its seat back.
  const known = fromActive(person.active, registrationId, batchId);
  if (known) return known;
  if (phaseAt(batch, ports.now()) === 'closed') return refused(ENROLLMENT_BATCH_CLOSED, 'memory');

  const flags = await ports.flags.read(batchId);
  if (flags.full) return refused(ENROLLMENT_BATCH_FULL, 'redis');
  const admission = await ports.admit(batchId);
  if (!admission.allowed) return { kind: 'throttled', retryAfterMs: admission.retryAfterMs };

  const enrollmentId = newId();
  const enrolledAt = ports.now().toISOString();
  const result = await ports.enroll({
    enrollmentId,
    registrationId,
    nikIndex: person.nikIndex,
    batchId,
    enrolledAt,
    events: enrolledEvents({ enrollmentId, registrationId, batchId, enrolledAt }),
  });
  switch (result.kind) {
    case 'enrolled':
      if (result.enrolled >= result.quota) await ports.flags.markFull(batchId, flags);
      return { kind: 'enrolled', enrollment: { enrollmentId, registrationId, batchId, enrolledAt }, replayed: false };
    case 'no_seat':
      if (result.why === 'full') {
        await ports.flags.markFull(batchId, flags);
        return refused(ENROLLMENT_BATCH_FULL, 'postgres');
      }
      return refused(
        result.why === 'unknown' ? ENROLLMENT_BATCH_NOT_FOUND : result.why === 'closed' ? ENROLLMENT_BATCH_CLOSED : ENROLLMENT_BATCH_NOT_OPEN,
        'postgres',
      );
    case 'taken': {
      // Lost a race on a unique index: the winner has committed, so reading again says who it was.
      const again = await ports.person(registrationId);
      return (again.eligible && fromActive(again.active, registrationId, batchId)) || refused(ENROLLMENT_ALREADY_ENROLLED, 'postgres');
    }
  }
}
