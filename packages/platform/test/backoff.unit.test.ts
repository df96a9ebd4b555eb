import { backoffMs } from '../src/backoff';

describe('backoffMs (exponential, full jitter)', () => {
  const o = { baseMs: 1000, maxMs: 60_000 };

  it('draws below a ceiling that doubles per attempt, capped at maxMs', () => {
    expect([0, 1, 2, 3].map((n) => backoffMs(n, o, () => 0.999999))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(30, o, () => 0.999999)).toBe(60_000);
    expect(backoffMs(-3, o, () => 0.999999)).toBe(1000);
  });

  it('spreads the whole range down to zero, or down to minMs when one is set', () => {
    expect([0, 1, 2].map((n) => backoffMs(n, o, () => 0))).toEqual([0, 0, 0]);
    expect([0, 1, 2].map((n) => backoffMs(n, o, () => 0.5))).toEqual([500, 1000, 2000]);
    expect([0, 1, 2].map((n) => backoffMs(n, { ...o, minMs: 1000 }, () => 0))).toEqual([1000, 1000, 1000]);
    expect(backoffMs(2, { ...o, minMs: 1000 }, () => 0.5)).toBe(2500);
    // A floor above the ceiling is the ceiling.
    expect(backoffMs(0, { baseMs: 100, maxMs: 100, minMs: 500 }, () => 0)).toBe(100);
  });

  it('replicas failing together come back spread out: 1,000 draws cover the range evenly', () => {
    const draws = Array.from({ length: 1000 }, () => backoffMs(3, o));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThanOrEqual(8000);
    const quarters = [0, 1, 2, 3].map((q) => draws.filter((d) => d >= q * 2000 && d < (q + 1) * 2000).length);
    for (const n of quarters) expect(n).toBeGreaterThan(150);
  });
});
