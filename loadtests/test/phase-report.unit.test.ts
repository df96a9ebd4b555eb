import { phaseMarkdown } from '../src/report';

/** The intake's phase histogram, as the spike report reads it from a /metrics delta. */
describe('phaseMarkdown', () => {
  const bucket = (phase: string, le: string) => `intake_registration_phase_seconds_bucket{le="${le}",phase="${phase}"}`;
  // Cumulative counts, as Prometheus exposes them: 100 requests.
  const delta = (phase: string, counts: number[]) =>
    Object.fromEntries(['0.001', '0.005', '0.02', '0.05', '0.2', '+Inf'].map((le, i) => [bucket(phase, le), counts[i]!]));

  it('gives each phase its count, the bucket bounds of p50 and p99, and the shares within 5, 20 and 50 ms', () => {
    const md = phaseMarkdown({
      ...delta('claim', [40, 90, 99, 100, 100, 100]),
      ...delta('total', [0, 10, 60, 95, 99, 100]),
      process_cpu_seconds_total: 12,
    });
    const rows = md.split('\n').slice(2);
    expect(rows).toEqual(['| claim | 100 | ≤ 5 ms | ≤ 20 ms | 90.0 % | 99.0 % | 100.0 % |', '| total | 100 | ≤ 20 ms | ≤ 200 ms | 10.0 % | 60.0 % | 95.0 % |']);
  });

  it('says so when the target exposed no histogram (an older intake, or another service)', () => {
    expect(phaseMarkdown({ process_cpu_seconds_total: 1 })).toMatch(/no phase histogram/);
  });
});
