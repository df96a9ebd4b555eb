/**
 * Waits for `work` at most `ms`: true when it settled in time (its outcome is the caller's business;
 * a rejection counts as settled), false when the time ran out first. The timer is cleared either way,
 * so a short wait never holds the process open for the rest of `ms`.
 */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      work.then(
        () => true as const,
        () => true as const,
      ),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
