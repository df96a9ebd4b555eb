/**
 * The most calls a token bucket (capacity `burst`, refill `perSec`) can admit inside any one-second
 * window: it may start the window full (`burst` calls at once), and refills fewer than `perSec` tokens
 * before the window ends, so at most ceil(perSec) - 1 more. The partner counts per wall-clock second,
 * so this — not `perSec` — is what must stay under its quota.
 */
export function worstCallsInOneSecond(burst: number, perSec: number): number {
  return burst + Math.ceil(perSec) - 1;
}
