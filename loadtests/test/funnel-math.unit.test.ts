import { maxInWindow } from '../src/cluster';
import { backlogSeries } from '../src/scenarios/funnel';

const person = (at: Record<string, number>, failed?: { stage: any; reason: string; atMs: number }) =>
  ({ seed: 0, email: '', fullName: '', birthDate: '', realNik: '', typedNik: '', at, corrected: false, ...(failed ? { failed } : {}) }) as any;

describe('funnel arithmetic', () => {
  it('counts a person in a stage from entering it until passing or giving up', () => {
    const people = [
      person({ registered: 0, mailed: 2500 }),
      person({ registered: 1000, mailed: 1500 }),
      person({ registered: 1000 }, { stage: 'mailed', reason: 'NO_MAIL_IN_TIME', atMs: 3000 }),
      person({}),
    ];
    expect(backlogSeries(people, 'registered', 'mailed', 4).map((p) => p.backlog)).toEqual([1, 3, 2, 0, 0]);
  });

  it('finds the busiest window of sorted or unsorted times', () => {
    expect(maxInWindow([], 1000)).toBe(0);
    expect(maxInWindow([5000, 0, 999, 1000, 1999, 2000], 1000)).toBe(2);
    expect(maxInWindow([0, 1, 2, 3, 999], 1000)).toBe(5);
  });
});
