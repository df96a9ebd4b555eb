import { currentWindow, secondsUntil, type CountedWindow } from './window';

/** The sign-in state of one address (by its blind index), as the domain sees it. */
export interface SignInState {
  /** The registration the live code was mailed for; null while none is out. */
  registrationId: string | null;
  codeHmac: string | null;
  expiresAt: Date | null;
  sentAt: Date | null;
  sendsWindowStartedAt: Date | null;
  windowSends: number;
  attemptsWindowStartedAt: Date | null;
  windowFailedAttempts: number;
}

export interface SignInRules {
  codeTtlSec: number;
  /** Sign-in mails per address within windowSec. */
  maxSends: number;
  /** Seconds at least between two sign-in mails to one address (a request sooner is dropped: the code out stays). */
  cooldownSec: number;
  /** Wrong codes per address within windowSec, across codes. */
  maxAttempts: number;
  windowSec: number;
}

export type SignInMailDecision =
  | { kind: 'send'; sends: { startedAt: Date; count: number } }
  /** No mail: the address is no verified registration's, a mail went out moments ago, or the window's mails are spent. */
  | { kind: 'drop'; reason: 'not_verified' | 'cooldown' | 'limit' };

/**
 * What the mail sender does with a sign-in request, out of band (the request was answered 202 long
 * before): only the address of a verified registration gets a mail, within its own limits.
 */
export function decideSignInMail(s: SignInState, verifiedRegistration: string | null, rules: SignInRules, now: Date): SignInMailDecision {
  if (!verifiedRegistration) return { kind: 'drop', reason: 'not_verified' };
  const w = currentWindow({ startedAt: s.sendsWindowStartedAt, count: s.windowSends }, rules.windowSec, now);
  if (w.count >= rules.maxSends) return { kind: 'drop', reason: 'limit' };
  if (s.sentAt && s.sentAt.getTime() + rules.cooldownSec * 1000 > now.getTime()) return { kind: 'drop', reason: 'cooldown' };
  return { kind: 'send', sends: { startedAt: w.startedAt, count: w.count + 1 } };
}

export type SignInCodeDecision =
  | { kind: 'sign_in'; registrationId: string }
  /** Wrong, expired, none out, or an address nobody registered: one answer for all. `exhaustsNow`: the window's last try. */
  | { kind: 'invalid'; failures: CountedWindow & { startedAt: Date }; exhaustsNow: boolean; retryAfterSec: number }
  | { kind: 'exhausted'; retryAfterSec: number };

/**
 * A code signs in when it is the live code of the address. Every other case is `invalid` and counted
 * the same way, an unknown address included, so the answers (and the attempt limit) never tell which.
 * `codeMatches` is called exactly once whatever the state (with null when no code is live: the caller
 * compares against a dummy), so the time taken does not tell either.
 */
export function decideSignInCode(s: SignInState, rules: SignInRules, now: Date, codeMatches: (codeHmac: string | null) => boolean): SignInCodeDecision {
  const w = currentWindow({ startedAt: s.attemptsWindowStartedAt, count: s.windowFailedAttempts }, rules.windowSec, now);
  const retryAfterSec = secondsUntil(w.endsAt, now);
  if (w.count >= rules.maxAttempts) return { kind: 'exhausted', retryAfterSec };
  const live = s.registrationId !== null && s.codeHmac !== null && s.expiresAt !== null && now < s.expiresAt;
  const matched = codeMatches(live ? s.codeHmac : null);
  if (live && matched) return { kind: 'sign_in', registrationId: s.registrationId! };
  const failures = { startedAt: w.startedAt, count: w.count + 1 };
  return { kind: 'invalid', failures, exhaustsNow: failures.count >= rules.maxAttempts, retryAfterSec };
}
