import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { EventMessage } from '@gelombang/contracts';
import { backoffMs, PollingWorker, stackFrames } from '@gelombang/platform';
import type { ClaimedCheck } from '../data-access/checks-repository';
import type { BreakerState } from '../data-access/registry-client';
import { ALREADY_HELD, decide, decisionEvents, type Decision, type RegistryAnswer } from './outcome';

export interface Person {
  nik: string;
  fullName: string;
  birthDate: string;
}

/** The queue of checks (ChecksRepository). */
export interface CheckQueue {
  claimDue(limit: number, leaseId: string, leaseMs: number): Promise<ClaimedCheck[]>;
  /**
   * Records a decision and its events, unless the lease was lost (undefined). A match for a NIK another
   * registration holds is recorded as ALREADY_HELD: answers the decision recorded.
   */
  decide(check: ClaimedCheck, decision: Decision, events: (recorded: Decision, at: Date) => EventMessage[], called?: boolean): Promise<Decision | undefined>;
  /** Before a call: who holds the check's NIK (the registry matched it there), and whether the intake rejected its registration. */
  standing(check: ClaimedCheck): Promise<{ holder?: string; rejectedByIntake: boolean }>;
  /** Drops a claimed check of a registration the intake rejected: it is never called (decision 0024). */
  dropRejected(check: ClaimedCheck): Promise<void>;
  retryLater(check: ClaimedCheck, delayMs: number, error: string, counted: boolean): Promise<void>;
  /** Records that a call is about to leave for this check, under its lease; false: the lease is lost, no call. */
  callStarting(check: ClaimedCheck): Promise<boolean>;
  release(checks: readonly ClaimedCheck[]): Promise<void>;
  /** Makes queued checks whose last error is one of `errors` due now. */
  waiveBackoff(errors: readonly string[]): Promise<number>;
}

/** What the checker needs from the outside world, each satisfied as it is by one adapter. */
export interface CheckerPorts {
  queue: CheckQueue;
  /** Opens the sealed fields, in memory only (PiiCipher); throws for a key this replica does not hold. */
  cipher: { decrypt(sealed: string, aad: string): string };
  /** Our share of the registry quota (RegistryQuota): false when `running()` turned false first. */
  quota: { acquire(running: () => boolean, sleep: (ms: number) => Promise<void>): Promise<boolean> };
  /** The registry behind its circuit breaker (RegistryClient). */
  registry: {
    readonly canCall: boolean;
    /** Rejects with an error whose `kind` says why no answer came. `callId` goes with the call as its idempotency key. */
    verify(person: Person, callId: string): Promise<RegistryAnswer>;
    onStateChange(listener: (state: BreakerState) => void): void;
  };
}

export interface CheckerOptions {
  batchSize: number;
  leaseMs: number;
  idleMs: number;
  concurrency: number;
  retryBaseMs: number;
  retryMaxMs: number;
  logger: FastifyBaseLogger;
  /** Every registry call's outcome (an answer, or the failure kind) and how long it took. */
  onCall?: (outcome: string, seconds: number) => void;
  onDecided?: (decision: Decision) => void;
  /** After a decision committed (the outbox relay should publish soon). */
  onCommitted?: () => void;
}

/** Codes kept in `last_error` of a queued row: why its last call did not decide. */
export const RETRY_CODES = {
  quota_exceeded: 'REGISTRY_QUOTA_EXCEEDED',
  unavailable: 'REGISTRY_UNAVAILABLE',
  timeout: 'REGISTRY_TIMEOUT',
  client_error: 'REGISTRY_CLIENT_ERROR',
  bad_answer: 'REGISTRY_BAD_ANSWER',
} as const;
export const UNDECRYPTABLE = 'PII_UNDECRYPTABLE';
/** Back-offs the registry's own outage caused: waived once its breaker closes again. */
const OUTAGE_CODES = [RETRY_CODES.unavailable, RETRY_CODES.timeout];

/**
 * The loop that works the queue: claim due checks in small batches, take a quota token per call, call
 * the registry (at most `concurrency` at once), record the decision with its events. Nothing is ever
 * lost or rejected because the registry misbehaved: such checks go back to the queue with a back-off.
 * Waits (empty queue, empty bucket, open breaker) sleep until due or until `wake()`; it never spins.
 * A check whose NIK another registration already holds is settled as ALREADY_HELD without a call (and
 * without a token): the registry's answer could not change it.
 * Follows the registry's breaker (see breakerChanged).
 */
export class Checker extends PollingWorker {
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly ports: CheckerPorts,
    private readonly opts: CheckerOptions,
  ) {
    super(opts.logger, 'checker', opts.idleMs);
    ports.registry.onStateChange((state) => this.breakerChanged(state));
  }

  /** Calls in flight finish (their answers are recorded) before stop() resolves. */
  protected override async afterStop(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  protected async round(): Promise<boolean> {
    // Breaker open: nothing may be called; wake() comes when it half-opens.
    if (!this.ports.registry.canCall) return false;
    const batch = await this.ports.queue.claimDue(this.opts.batchSize, randomUUID(), this.opts.leaseMs);
    if (batch.length === 0) return false;
    await this.work(batch);
    return true;
  }

  private async work(batch: ClaimedCheck[]): Promise<void> {
    for (let i = 0; i < batch.length; i++) {
      while (this.inflight.size >= this.opts.concurrency) await Promise.race(this.inflight);
      if (!this.isRunning || !this.ports.registry.canCall) return this.ports.queue.release(batch.slice(i));
      const check = batch[i]!;
      if (await this.settledBeforeCall(check)) continue;
      let person: Person;
      try {
        person = this.open(check);
      } catch {
        // A key this replica lacks: a configuration fault, not the applicant's. Park it; it resumes
        // once the key is configured.
        this.log.error({ registrationId: check.registrationId, attempt: check.attempt }, 'sealed data cannot be opened; check parked');
        await this.ports.queue.retryLater(check, this.opts.retryMaxMs, UNDECRYPTABLE, false);
        continue;
      }
      if (
        !(await this.ports.quota.acquire(
          () => this.isRunning,
          (ms) => this.pause(ms),
        ))
      )
        return this.ports.queue.release(batch.slice(i));
      const call = this.check(check, person).finally(() => this.inflight.delete(call));
      this.inflight.add(call);
    }
  }

  private async check(check: ClaimedCheck, person: Person): Promise<void> {
    const ids = { registrationId: check.registrationId, attempt: check.attempt };
    let answer: RegistryAnswer;
    // Recorded before it leaves: a crash from here on leaves a call whose outcome is unknown, and the
    // next one carries the same call id, which the registry answers without verifying again.
    try {
      if (!(await this.ports.queue.callStarting(check))) return;
    } catch (e) {
      this.log.error({ ...ids, errName: (e as Error).name }, 'could not record the call; none made, its lease will expire');
      return;
    }
    if (check.callsStarted > check.tries) this.log.warn({ ...ids }, 'asking the registry again for a call whose outcome was lost (same call id)');
    const t0 = performance.now();
    const took = () => (performance.now() - t0) / 1000;
    try {
      answer = await this.ports.registry.verify(person, check.callId);
    } catch (e) {
      const kind = (e as { kind?: string }).kind ?? 'unavailable';
      this.opts.onCall?.(kind, took());
      try {
        if (kind === 'breaker_open') return await this.ports.queue.release([check]);
        const code = RETRY_CODES[kind as keyof typeof RETRY_CODES] ?? RETRY_CODES.unavailable;
        const delay = backoffMs(check.tries, { baseMs: this.opts.retryBaseMs, maxMs: this.opts.retryMaxMs });
        await this.ports.queue.retryLater(check, delay, code, true);
        this.log.warn({ ...ids, cause: code, retryInMs: delay }, 'registry gave no answer; check requeued');
      } catch (dbErr) {
        // The lease runs out and the row comes back by itself.
        this.log.error({ ...ids, errName: (dbErr as Error).name }, 'could not requeue check; its lease will expire');
      }
      return;
    }
    this.opts.onCall?.(answer, took());
    await this.record(check, decide(answer), true);
  }

  /**
   * Looked up just before the token is taken, so a check that arrives (or comes due) after its NIK's
   * hold committed costs the registry nothing. Checks of one NIK already in flight together are settled
   * by decide's hold instead (one verified, the others ALREADY_HELD). A check of a registration the
   * intake rejected (its projector decides which registrations exist, decision 0024) is dropped: no
   * call, no hold, no event (the intake announced the rejection).
   */
  private async settledBeforeCall(check: ClaimedCheck): Promise<boolean> {
    const { holder, rejectedByIntake } = await this.ports.queue.standing(check);
    if (rejectedByIntake) {
      await this.ports.queue.dropRejected(check);
      this.log.info({ registrationId: check.registrationId, attempt: check.attempt }, 'nik check dropped: the intake rejected the registration');
      return true;
    }
    if (holder === undefined || holder === check.registrationId) return false;
    await this.record(check, ALREADY_HELD, false);
    return true;
  }

  private async record(check: ClaimedCheck, decision: Decision, called: boolean): Promise<void> {
    const ids = { registrationId: check.registrationId, attempt: check.attempt };
    try {
      const recorded = await this.ports.queue.decide(check, decision, (d, at) => decisionEvents(check, d, at), called);
      if (!recorded) return;
      this.opts.onDecided?.(recorded);
      this.opts.onCommitted?.();
      this.log.info(
        { ...ids, state: recorded.state, ...(recorded.state === 'rejected' ? { reason: recorded.reason } : {}), registryCalled: called },
        'nik check decided',
      );
    } catch (e) {
      this.log.error({ ...ids, errName: (e as Error).name, stack: stackFrames(e) }, 'could not record decision; its lease will expire');
    }
  }

  private open(check: ClaimedCheck): Person {
    const { cipher } = this.ports;
    return {
      nik: cipher.decrypt(check.nikEnc, 'nik'),
      fullName: cipher.decrypt(check.fullNameEnc, 'fullName'),
      birthDate: cipher.decrypt(check.birthDateEnc, 'birthDate'),
    };
  }

  /**
   * Every transition wakes the loop to look again (open: it finds it may not call; half-open: one probe
   * may leave). Closed again: the registry is back, so checks that backed off because it was down need
   * not wait any longer — the quota bucket still paces every call.
   */
  private breakerChanged(state: BreakerState): void {
    if (state === 'open') this.log.warn('registry breaker open: calls paused, checks stay queued');
    else this.log.info({ state }, 'registry breaker state changed');
    if (state !== 'closed') return this.wake();
    this.ports.queue
      .waiveBackoff(OUTAGE_CODES)
      .then(() => this.wake())
      .catch(() => undefined);
  }
}
