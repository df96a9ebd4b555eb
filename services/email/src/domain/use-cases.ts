import { enqueueEvents } from '@gelombang/platform';
import type { VerificationsRepository } from '../data-access/verifications-repository';
import type { CodeHasher } from './codes';
import { verifiedEvents } from './events';
import { decideConfirm, decideResend, type ConfirmDecision, type VerificationRules } from './verification';

export interface UseCaseDeps {
  repository: VerificationsRepository;
  hasher: CodeHasher;
  rules: VerificationRules;
  now: () => Date;
  /** Called after a commit that wrote outbox rows, so the relay publishes at once. */
  onEnqueued: () => void;
}

export type ConfirmOutcome =
  { kind: 'verified'; verifiedAt: Date; replayed: boolean } | { kind: 'not_found' } | Exclude<ConfirmDecision, { kind: 'verify' | 'already_verified' }>;

/**
 * Checks a code under a row lock (parallel guesses are counted one by one). On success, in the same
 * transaction: verified, and the three events via the outbox — the last one starts the NIK check.
 */
export async function confirmCode(deps: UseCaseDeps, registrationId: string, code: string): Promise<ConfirmOutcome> {
  const outcome = await deps.repository.inTransaction(async (tx): Promise<ConfirmOutcome> => {
    const row = await deps.repository.lock(tx, registrationId);
    if (!row) return { kind: 'not_found' };
    const now = deps.now();
    const d = decideConfirm(row, deps.rules, now, (codeHmac) => deps.hasher.matches(registrationId, code, codeHmac));
    switch (d.kind) {
      case 'already_verified':
        return { kind: 'verified', verifiedAt: d.verifiedAt, replayed: true };
      case 'wrong':
        await deps.repository.recordWrongAttempt(tx, registrationId, d.submissions);
        return d;
      case 'verify':
        await deps.repository.markVerified(tx, registrationId, now);
        await enqueueEvents(tx, verifiedEvents(row, now));
        return { kind: 'verified', verifiedAt: now, replayed: false };
      default:
        return d;
    }
  });
  if (outcome.kind === 'verified' && !outcome.replayed) deps.onEnqueued();
  return outcome;
}

export type ResendOutcome =
  | { kind: 'not_found' }
  | { kind: 'already_verified' }
  | { kind: 'queued' }
  | { kind: 'too_soon'; retryAfterSec: number }
  | { kind: 'limit'; retryAfterSec: number }
  | { kind: 'exhausted'; retryAfterSec: number };

/**
 * Kills the live code and owes a new mail; the sender mails it within the provider's quota. While a
 * mail is still owed nothing is added, but a code left by a failed send is killed too.
 */
export async function requestResend(deps: UseCaseDeps & { onQueued: () => void }, registrationId: string): Promise<ResendOutcome> {
  const outcome = await deps.repository.inTransaction(async (tx): Promise<ResendOutcome> => {
    const row = await deps.repository.lock(tx, registrationId);
    if (!row) return { kind: 'not_found' };
    const d = decideResend(row, deps.rules, deps.now());
    switch (d.kind) {
      case 'already_queued':
        // The mail being sent stays the new one; a code left by a failed send dies like any old code.
        await deps.repository.dropLeftoverPending(tx, registrationId);
        return { kind: 'queued' };
      case 'queue':
        await deps.repository.queueResend(tx, registrationId, d);
        return { kind: 'queued' };
      default:
        return d;
    }
  });
  if (outcome.kind === 'queued') deps.onQueued();
  return outcome;
}
