import type { Decision } from '@gelombang/platform';
import type { Enrollment, EnrollResult, PersonState } from '../src/data-access/enrollments-repository';
import { enroll, type EnrollOutcome, type EnrollPorts } from '../src/domain/enroll';

/** The outcome with the error definition replaced by its code (a function does not deep-compare). */
const summary = (o: EnrollOutcome) => (o.kind === 'refused' ? { kind: o.kind, code: o.error.code, answeredBy: o.answeredBy } : o);

const NOW = new Date('2026-12-01T03:00:00Z');
const batch = {
  batchId: 'gelombang-31',
  name: 'Gelombang 31',
  quota: 2,
  opensAt: new Date('2026-12-01T02:00:00Z'),
  closesAt: new Date('2026-12-02T02:00:00Z'),
};
const REG = '0190a0b0-0000-7000-8000-000000000001';
const seat = (over: Partial<Enrollment> = {}): Enrollment => ({
  enrollmentId: '0190a0b0-0000-7000-8000-0000000000aa',
  registrationId: REG,
  batchId: batch.batchId,
  status: 'active',
  enrolledAt: NOW,
  endedAt: null,
  ...over,
});

/** Ports answering from plain values; `calls` records which ones the use case reached. */
function ports(over: { person?: PersonState[]; full?: boolean; allowed?: boolean; result?: EnrollResult; now?: Date } = {}) {
  const calls: string[] = [];
  const people = [...(over.person ?? [{ eligible: true, nikIndex: 'idx', active: [] }])];
  const p: EnrollPorts = {
    batch: async (id) => (calls.push('batch'), id === batch.batchId ? batch : undefined),
    person: async () => (calls.push('person'), people.length > 1 ? people.shift()! : people[0]!),
    flags: {
      read: async () => (calls.push('flags'), { full: over.full ?? false, generation: '0' }),
      markFull: async () => (calls.push('markFull'), true),
    },
    admit: async () => (calls.push('admit'), { allowed: over.allowed ?? true, remaining: 0, retryAfterMs: 1500, resetMs: 0, source: 'redis' } as Decision),
    enroll: async () => (calls.push('enroll'), over.result ?? { kind: 'enrolled', enrolled: 1, quota: 2 }),
    now: () => over.now ?? NOW,
  };
  return { p, calls };
}

describe('enroll (use case)', () => {
  it('answers a retry of a seat already held with that seat, before the full flag and the bucket', async () => {
    const { p, calls } = ports({ person: [{ eligible: true, nikIndex: 'idx', active: [seat()] }], full: true, allowed: false });
    const out = await enroll(p, REG, batch.batchId);
    expect(out).toEqual({
      kind: 'enrolled',
      replayed: true,
      enrollment: { enrollmentId: seat().enrollmentId, registrationId: REG, batchId: batch.batchId, enrolledAt: NOW.toISOString() },
    });
    expect(calls).toEqual(['batch', 'person']);
  });

  it('refuses from memory before opening, without reading the person', async () => {
    const { p, calls } = ports({ now: new Date('2026-12-01T01:59:59Z') });
    expect(summary(await enroll(p, REG, batch.batchId))).toMatchObject({ kind: 'refused', answeredBy: 'memory', code: 'ENROLLMENT_BATCH_NOT_OPEN' });
    expect(calls).toEqual(['batch']);
  });

  it('answers BATCH_FULL from the flag without reaching the bucket or the database transaction', async () => {
    const { p, calls } = ports({ full: true });
    expect(summary(await enroll(p, REG, batch.batchId))).toMatchObject({ kind: 'refused', answeredBy: 'redis', code: 'ENROLLMENT_BATCH_FULL' });
    expect(calls).not.toContain('enroll');
    expect(calls).not.toContain('admit');
  });

  it('throttles with the wait of the bucket, and never enrolls then', async () => {
    const { p, calls } = ports({ allowed: false });
    expect(await enroll(p, REG, batch.batchId)).toEqual({ kind: 'throttled', retryAfterMs: 1500 });
    expect(calls).not.toContain('enroll');
  });

  it('raises the full flag when it took the last seat, and when the database said full', async () => {
    const last = ports({ result: { kind: 'enrolled', enrolled: 2, quota: 2 } });
    expect(await enroll(last.p, REG, batch.batchId)).toMatchObject({ kind: 'enrolled', replayed: false });
    expect(last.calls.at(-1)).toBe('markFull');
    const full = ports({ result: { kind: 'no_seat', why: 'full' } });
    expect(summary(await enroll(full.p, REG, batch.batchId))).toMatchObject({ kind: 'refused', answeredBy: 'postgres', code: 'ENROLLMENT_BATCH_FULL' });
    expect(full.calls.at(-1)).toBe('markFull');
    const closed = ports({ result: { kind: 'no_seat', why: 'closed' } });
    expect(summary(await enroll(closed.p, REG, batch.batchId))).toMatchObject({ code: 'ENROLLMENT_BATCH_CLOSED' });
    expect(closed.calls).not.toContain('markFull');
  });

  it('after losing a unique-index race, reads again: its own concurrent twin is a replay, anyone else ALREADY_ENROLLED', async () => {
    const twin = ports({
      person: [
        { eligible: true, nikIndex: 'idx', active: [] },
        { eligible: true, nikIndex: 'idx', active: [seat()] },
      ],
      result: { kind: 'taken', by: 'registration' },
    });
    expect(await enroll(twin.p, REG, batch.batchId)).toMatchObject({ kind: 'enrolled', replayed: true });
    const other = ports({
      person: [
        { eligible: true, nikIndex: 'idx', active: [] },
        { eligible: true, nikIndex: 'idx', active: [seat({ registrationId: '0190a0b0-0000-7000-8000-000000000002' })] },
      ],
      result: { kind: 'taken', by: 'person' },
    });
    expect(summary(await enroll(other.p, REG, batch.batchId))).toMatchObject({ kind: 'refused', code: 'ENROLLMENT_ALREADY_ENROLLED' });
  });

  it('refuses the ineligible and unknown batches', async () => {
    expect(summary(await enroll(ports({ person: [{ eligible: false }] }).p, REG, batch.batchId))).toMatchObject({ code: 'ENROLLMENT_NOT_ELIGIBLE' });
    expect(summary(await enroll(ports().p, REG, 'gelombang-0'))).toMatchObject({ code: 'ENROLLMENT_BATCH_NOT_FOUND' });
  });
});
