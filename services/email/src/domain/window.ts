/** A count in a fixed window of `lengthSec` opened by its first event; once over, the next event opens a new one. */
export interface CountedWindow {
  /** Null before the first event. */
  startedAt: Date | null;
  count: number;
}

export interface OpenWindow {
  startedAt: Date;
  count: number;
  endsAt: Date;
}

/** The window an event at `now` counts in: the stored one while it runs, else a new empty one from now. */
export function currentWindow(w: CountedWindow, lengthSec: number, now: Date): OpenWindow {
  const endsAt = w.startedAt ? new Date(w.startedAt.getTime() + lengthSec * 1000) : undefined;
  if (!w.startedAt || !endsAt || now >= endsAt) return { startedAt: now, count: 0, endsAt: new Date(now.getTime() + lengthSec * 1000) };
  return { startedAt: w.startedAt, count: w.count, endsAt };
}

/** Whole seconds until `t` for a Retry-After header: at least 1. */
export const secondsUntil = (t: Date | number, now: Date): number => Math.max(1, Math.ceil((new Date(t).getTime() - now.getTime()) / 1000));
