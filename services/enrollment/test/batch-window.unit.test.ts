import { phaseAt, sameDefinition } from '../src/domain/batch-window';

describe('phaseAt', () => {
  const window = { opensAt: new Date('2026-12-01T09:00:00+07:00'), closesAt: new Date('2026-12-03T09:00:00+07:00') };
  it.each([
    ['2026-12-01T01:59:59.999Z', 'scheduled'],
    ['2026-12-01T02:00:00.000Z', 'open'],
    ['2026-12-03T01:59:59.999Z', 'open'],
    ['2026-12-03T02:00:00.000Z', 'closed'],
  ])('at %s the batch is %s (the window is [opensAt, closesAt))', (at, phase) => {
    expect(phaseAt(window, new Date(at))).toBe(phase);
  });
});

describe('sameDefinition', () => {
  const def = {
    batchId: 'gelombang-31',
    name: 'Gelombang 31',
    quota: 200_000,
    opensAt: new Date('2026-12-01T02:00:00Z'),
    closesAt: new Date('2026-12-03T02:00:00Z'),
  };
  it('is true for the same instants written with another offset, false when any value differs', () => {
    expect(sameDefinition(def, { ...def, opensAt: new Date('2026-12-01T09:00:00+07:00') })).toBe(true);
    for (const change of [{ name: 'Gelombang 32' }, { quota: 199_999 }, { closesAt: new Date('2026-12-03T02:00:01Z') }]) {
      expect(sameDefinition(def, { ...def, ...change })).toBe(false);
    }
  });
});
