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
  verifiedAt: Date | null;
}

export interface VerificationRules {
  codeTtlSec: number;
  maxAttempts: number;
  resendCooldownSec: number;
  maxSends: number;
  sendsWindowSec: number;
}

/** pending: a mail (first or resent) is owed · sent: a live code is out · verified · locked: too many wrong codes. */
export type VerificationStatus = 'pending' | 'sent' | 'verified' | 'locked';

export function statusOf(v: VerificationState, rules: VerificationRules): VerificationStatus {
  if (v.verifiedAt) return 'verified';
  if (!v.codeHmac) return 'pending';
  if (v.failedAttempts >= rules.maxAttempts) return 'locked';
  return 'sent';
}

export function attemptsLeft(v: VerificationState, rules: VerificationRules): number {
  return Math.max(0, rules.maxAttempts - v.failedAttempts);
}

const windowEnd = (v: VerificationState, rules: VerificationRules) => new Date(v.windowStartedAt.getTime() + rules.sendsWindowSec * 1000);

export type ResendDecision =
  | { kind: 'already_verified' }
  /** A mail is owed already (first one not out yet, or a resend queued): nothing to add. */
  | { kind: 'already_queued' }
  | { kind: 'too_soon'; retryAfterSec: number }
  | { kind: 'limit'; retryAfterSec: number }
  | { kind: 'queue'; windowStartedAt: Date; windowSends: number };

export function decideResend(v: VerificationState, rules: VerificationRules, now: Date): ResendDecision {
  if (v.verifiedAt) return { kind: 'already_verified' };
  if (!v.codeHmac) return { kind: 'already_queued' };
  const end = windowEnd(v, rules);
  const fresh = now >= end;
  const windowStartedAt = fresh ? now : v.windowStartedAt;
  const sends = fresh ? 0 : v.windowSends;
  if (sends >= rules.maxSends) return { kind: 'limit', retryAfterSec: Math.max(1, Math.ceil((end.getTime() - now.getTime()) / 1000)) };
  const cooldownEnd = (v.sentAt?.getTime() ?? 0) + rules.resendCooldownSec * 1000;
  if (cooldownEnd > now.getTime()) return { kind: 'too_soon', retryAfterSec: Math.max(1, Math.ceil((cooldownEnd - now.getTime()) / 1000)) };
  return { kind: 'queue', windowStartedAt, windowSends: sends + 1 };
}

/** When POST …/resend would be accepted (may be in the past: now). Null when there is nothing to resend. */
export function resendAvailableAt(v: VerificationState, rules: VerificationRules, now: Date): Date | null {
  if (v.verifiedAt || !v.codeHmac) return null;
  const cooldownEnd = (v.sentAt?.getTime() ?? 0) + rules.resendCooldownSec * 1000;
  const end = windowEnd(v, rules);
  const limitEnd = now < end && v.windowSends >= rules.maxSends ? end.getTime() : 0;
  return new Date(Math.max(cooldownEnd, limitEnd));
}

export type ConfirmDecision =
  | { kind: 'already_verified'; verifiedAt: Date }
  | { kind: 'not_sent' }
  | { kind: 'locked' }
  | { kind: 'expired' }
  | { kind: 'verify' }
  /** A wrong code: counted; `locksNow` when it used up the last attempt. */
  | { kind: 'wrong'; attemptsLeft: number; locksNow: boolean };

/** The codes an applicant may hold: the current one and a pending one (see VerificationState). */
function codesOut(v: VerificationState): { codeHmac: string; expiresAt: Date | null }[] {
  const codes: { codeHmac: string; expiresAt: Date | null }[] = [];
  if (v.codeHmac) codes.push({ codeHmac: v.codeHmac, expiresAt: v.expiresAt });
  if (v.pendingCodeHmac) codes.push({ codeHmac: v.pendingCodeHmac, expiresAt: v.pendingExpiresAt });
  return codes;
}

/**
 * A code matches when it is the current or the pending code and that one has not expired. One attempt
 * counter covers both. `codeMatches` is called for every unexpired code (no short cut), so the time
 * taken depends on how many codes are out, never on the code tried.
 */
export function decideConfirm(v: VerificationState, rules: VerificationRules, now: Date, codeMatches: (codeHmac: string) => boolean): ConfirmDecision {
  if (v.verifiedAt) return { kind: 'already_verified', verifiedAt: v.verifiedAt };
  const codes = codesOut(v);
  if (codes.length === 0) return { kind: 'not_sent' };
  if (v.failedAttempts >= rules.maxAttempts) return { kind: 'locked' };
  const live = codes.filter((c) => c.expiresAt && now < c.expiresAt);
  if (live.length === 0) return { kind: 'expired' };
  let matched = false;
  for (const c of live) matched = codeMatches(c.codeHmac) || matched;
  if (matched) return { kind: 'verify' };
  const left = Math.max(0, rules.maxAttempts - v.failedAttempts - 1);
  return { kind: 'wrong', attemptsLeft: left, locksNow: left === 0 };
}
