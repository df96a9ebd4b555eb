export interface BackoffOptions {
  /** The ceiling of the first retry (attempt 0); it doubles with each attempt. */
  baseMs: number;
  /** The ceiling never grows past this. */
  maxMs: number;
  /** No delay is shorter than this (default 0: full jitter). */
  minMs?: number;
}

/**
 * Exponential back-off with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * a delay drawn uniformly below a ceiling that doubles per attempt. Replicas, consumers and workers
 * that failed together (the same broker or database went away) then come back spread out instead of
 * in step. `attempt` counts the retries before this one (0 for the first).
 */
export function backoffMs(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, attempt));
  const floor = Math.min(o.minMs ?? 0, ceiling);
  return Math.round(floor + random() * (ceiling - floor));
}
