import type { RegistrationConflict } from '@gelombang/contracts';
import { currentWindow, secondsUntil, type OpenWindow } from './window';

/**
 * The mail a registration that met a conflict is owed instead of a code (README: "Conflicts"): the
 * conflict its registration.submitted.v1 event carried.
 */
export type Notice = RegistrationConflict;

/** The stored state of one verification, as the domain sees it (no SQL, no HTTP). */
export interface VerificationState {
  registrationId: string;
  emailMasked: string;
  /** The current code: the one the last recorded mail carried. */
  codeHmac: string | null;
  expiresAt: Date | null;
  /**
   * The code of a mail being sent, stored before the SMTP send, or left by a send that failed (the
   * provider may still have delivered it). Accepted like the current code until it expires.
   */
  pendingCodeHmac: string | null;
  pendingExpiresAt: Date | null;
  failedAttempts: number;
  sendCount: number;
  sentAt: Date | null;
  windowStartedAt: Date;
  windowSends: number;
  /** Codes tried in the current submissions window, whichever code they were for (a resend resets nothing here). */
  submissionsWindowStartedAt: Date | null;
  windowSubmissions: number;
  verifiedAt: Date | null;
  /**
   * Set when this registration is owed a notice instead of a code: its mails say what the conflict
   * means, and no code ever verifies it. Every other rule (statuses, attempts, resends) is the same.
   */
  notice: Notice | null;
}

export interface VerificationRules {
  codeTtlSec: number;
  maxAttempts: number;
  resendCooldownSec: number;
  maxSends: number;
  sendsWindowSec: number;
  /** Codes tried per registration within sendsWindowSec, across codes. */
  maxCodeSubmissions: number;
}

/** pending: a mail (first or resent) is owed · sent: a live code is out · verified · locked: too many wrong codes. */
export type VerificationStatus = 'pending' | 'sent' | 'verified' | 'locked';

export function statusOf(v: VerificationState, rules: VerificationRules): VerificationStatus {
  if (v.verifiedAt) return 'verified';
  if (!v.codeHmac) return 'pending';
  if (v.failedAttempts >= rules.maxAttempts) return 'locked';
  return 'sent';
}

const submissionsWindow = (v: VerificationState, rules: VerificationRules, now: Date): OpenWindow =>
  currentWindow({ startedAt: v.submissionsWindowStartedAt, count: v.windowSubmissions }, rules.sendsWindowSec, now);

const sendsWindow = (v: VerificationState, rules: VerificationRules, now: Date): OpenWindow =>
  currentWindow({ startedAt: v.windowStartedAt, count: v.windowSends }, rules.sendsWindowSec, now);

/** Tries left: those of the code out, and no more than the registration has left in its submissions window. */
export function attemptsLeft(v: VerificationState, rules: VerificationRules, now: Date): number {
  const ofCode = rules.maxAttempts - v.failedAttempts;
  const ofRegistration = rules.maxCodeSubmissions - submissionsWindow(v, rules, now).count;
  return Math.max(0, Math.min(ofCode, ofRegistration));
}

export type ResendDecision =
  | { kind: 'already_verified' }
  /** A mail is owed already (first one not out yet, or a resend queued): nothing to add. */
  | { kind: 'already_queued' }
  | { kind: 'too_soon'; retryAfterSec: number }
  | { kind: 'limit'; retryAfterSec: number }
  /** No code can be tried before the submissions window ends: a mail now would spend quota for nothing. */
  | { kind: 'exhausted'; retryAfterSec: number }
  | { kind: 'queue'; windowStartedAt: Date; windowSends: number };

export function decideResend(v: VerificationState, rules: VerificationRules, now: Date): ResendDecision {
  if (v.verifiedAt) return { kind: 'already_verified' };
  if (!v.codeHmac) return { kind: 'already_queued' };
  const w = sendsWindow(v, rules, now);
  if (w.count >= rules.maxSends) return { kind: 'limit', retryAfterSec: secondsUntil(w.endsAt, now) };
  const tried = submissionsWindow(v, rules, now);
  if (tried.count >= rules.maxCodeSubmissions) return { kind: 'exhausted', retryAfterSec: secondsUntil(tried.endsAt, now) };
  const cooldownEnd = (v.sentAt?.getTime() ?? 0) + rules.resendCooldownSec * 1000;
  if (cooldownEnd > now.getTime()) return { kind: 'too_soon', retryAfterSec: secondsUntil(cooldownEnd, now) };
  return { kind: 'queue', windowStartedAt: w.startedAt, windowSends: w.count + 1 };
}

/** When POST …/resend would be accepted (may be in the past: now). Null when there is nothing to resend. */
export function resendAvailableAt(v: VerificationState, rules: VerificationRules, now: Date): Date | null {
  if (v.verifiedAt || !v.codeHmac) return null;
  const cooldownEnd = (v.sentAt?.getTime() ?? 0) + rules.resendCooldownSec * 1000;
  const w = sendsWindow(v, rules, now);
  const limitEnd = w.count >= rules.maxSends ? w.endsAt.getTime() : 0;
  const tried = submissionsWindow(v, rules, now);
  const exhaustedEnd = tried.count >= rules.maxCodeSubmissions ? tried.endsAt.getTime() : 0;
  return new Date(Math.max(cooldownEnd, limitEnd, exhaustedEnd));
}

/** The submissions window a tried code is recorded in. */
export interface SubmissionsCount {
  startedAt: Date;
  count: number;
}

export type ConfirmDecision =
  | { kind: 'already_verified'; verifiedAt: Date }
  /** EMAIL_MAX_CODE_SUBMISSIONS codes tried in the window: nothing is checked until it ends. */
  | { kind: 'exhausted'; retryAfterSec: number }
  | { kind: 'not_sent' }
  | { kind: 'locked' }
  | { kind: 'expired' }
  | { kind: 'verify' }
  /**
   * A wrong code, counted against the code (`locksNow`: it used up the code's last attempt) and the
   * registration (`exhaustsNow`: the window's last submission, `retryAfterSec` until the window ends).
   */
  | { kind: 'wrong'; attemptsLeft: number; locksNow: boolean; exhaustsNow: boolean; retryAfterSec: number; submissions: SubmissionsCount };

/** The codes an applicant may hold: the current one and a pending one (see VerificationState). */
function codesOut(v: VerificationState): { codeHmac: string; expiresAt: Date | null }[] {
  const codes: { codeHmac: string; expiresAt: Date | null }[] = [];
  if (v.codeHmac) codes.push({ codeHmac: v.codeHmac, expiresAt: v.expiresAt });
  if (v.pendingCodeHmac) codes.push({ codeHmac: v.pendingCodeHmac, expiresAt: v.pendingExpiresAt });
  return codes;
}

/**
 * A code matches when it is the current or the pending code and that one has not expired. One attempt
 * counter covers both, and every code checked also counts against the registration's submissions
 * window, which no new code resets. `codeMatches` is called for every unexpired code (no short cut),
 * so the time taken depends on how many codes are out, never on the code tried.
 */
export function decideConfirm(v: VerificationState, rules: VerificationRules, now: Date, codeMatches: (codeHmac: string) => boolean): ConfirmDecision {
  if (v.verifiedAt) return { kind: 'already_verified', verifiedAt: v.verifiedAt };
  const window = submissionsWindow(v, rules, now);
  const retryAfterSec = secondsUntil(window.endsAt, now);
  if (window.count >= rules.maxCodeSubmissions) return { kind: 'exhausted', retryAfterSec };
  const codes = codesOut(v);
  if (codes.length === 0) return { kind: 'not_sent' };
  if (v.failedAttempts >= rules.maxAttempts) return { kind: 'locked' };
  const live = codes.filter((c) => c.expiresAt && now < c.expiresAt);
  if (live.length === 0) return { kind: 'expired' };
  let matched = false;
  for (const c of live) matched = codeMatches(c.codeHmac) || matched;
  // A notice's registration stores no code that anything matches; should one ever match, it is
  // still just a wrong code, answered and counted like any other.
  if (matched && !v.notice) return { kind: 'verify' };
  const submissions = { startedAt: window.startedAt, count: window.count + 1 };
  const codeLeft = Math.max(0, rules.maxAttempts - v.failedAttempts - 1);
  const registrationLeft = Math.max(0, rules.maxCodeSubmissions - submissions.count);
  return {
    kind: 'wrong',
    attemptsLeft: Math.min(codeLeft, registrationLeft),
    locksNow: codeLeft === 0,
    exhaustsNow: registrationLeft === 0,
    retryAfterSec,
    submissions,
  };
}
