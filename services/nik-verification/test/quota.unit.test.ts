import { LocalBuckets } from '@gelombang/platform';
import { worstCallsInOneSecond } from '../src/domain/quota';

/**
 * Drives the platform's token-bucket algorithm (the same one the Redis script runs) with a greedy caller
 * on a 1 ms clock and counts the calls in every one-second window, sliding and wall-clock aligned.
 */
function busiestSecond(burst: number, perSec: number, startMs: number, durationMs = 5_000): number {
  let now = startMs;
  const buckets = new LocalBuckets(() => now);
  const spec = { key: 'k', capacity: burst, ratePerSec: perSec };
  const calls: number[] = [];
  for (; now < startMs + durationMs; now++) {
    while (buckets.take([spec]).allowed) calls.push(now);
  }
  let max = 0;
  for (let i = 0, j = 0; j < calls.length; j++) {
    while (calls[j]! - calls[i]! >= 1000) i++;
    max = Math.max(max, j - i + 1);
  }
  return max;
}

describe('worstCallsInOneSecond (what the partner can see in one of its seconds)', () => {
  it.each([
    [2, 8],
    [8, 8],
    [10, 60],
    [1, 10],
    [5, 7.5],
    [3, 0.5],
  ])('burst %d at %d/s: the bound holds and is reached', (burst, perSec) => {
    const bound = worstCallsInOneSecond(burst, perSec);
    const seen = Math.max(...[0, 137, 999].map((offset) => busiestSecond(burst, perSec, 1_700_000_000_000 + offset)));
    expect(seen).toBeLessThanOrEqual(bound);
    expect(seen).toBe(bound);
  });

  it('shows why a bucket of 8/s with burst 8 does not fit a 10/s quota, and 8/s with burst 2 does', () => {
    expect(worstCallsInOneSecond(8, 8)).toBe(15);
    expect(worstCallsInOneSecond(2, 8)).toBe(9);
  });
});
