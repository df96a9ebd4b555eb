import { backoffMs, type BucketSpec, type Decision, type TokenBucket } from '@gelombang/platform';
import { ClaimsColdError, type ClaimInput, type ClaimsStore } from '../data-access/claims-store';
import type { RegistrationsRepository } from '../data-access/registrations-repository';
import type { AdmittedClaim } from './register';

export interface RegistrationClaimsDeps {
  /** The fast path: admission and claim in one Redis script call. */
  claims: ClaimsStore;
  /** The truth: PostgreSQL, asked when Redis cannot answer, and read to rebuild Redis. */
  repository: Pick<RegistrationsRepository, 'findActive' | 'activeClaims'>;
  /** Token buckets in Redis, or in process memory while Redis is away. */
  bucket: TokenBucket;
  /** A registration's admission buckets: the client's (its address) and the global one. */
  admissionBuckets: (client: string) => BucketSpec[];
  onFallback: (use: 'dedup' | 'dedup_cold') => void;
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

/**
 * Who holds a NIK (the registration the registry matched; until then up to INTAKE_MAX_PENDING_PER_NIK
 * pending ones may name it) and an email (one registration), and admission, whatever state Redis is in
 * (decisions 0006, 0017):
 * - Redis answers: admission and the NIK/email/Idempotency-Key claim are one script call.
 * - Redis is down or too slow: admission is decided in process memory (per replica), the claim by
 *   PostgreSQL — which lacks only what Kafka holds and the projector has not written yet; the unique
 *   index settles those later (`rejected_duplicate`).
 * - Redis restarted empty (it keeps nothing on disk): the claims are "cold"; PostgreSQL decides while
 *   one replica rebuilds them from PostgreSQL.
 * - After Kafka acknowledged, the completion makes the claims permanent; completions Redis could not
 *   take are retried until it does.
 */
export class RegistrationClaims {
  private rebuilding: Promise<void> | undefined;
  private readonly incomplete: PendingCompletions;

  constructor(private readonly d: RegistrationClaimsDeps) {
    this.incomplete = new PendingCompletions(
      (i, masked) => d.claims.complete(i, masked),
      (e) => d.log.warn({ errName: e.name, pending: this.incomplete.size }, 'registrations stored by Kafka not yet completed in Redis; retrying'),
    );
  }

  /** Admission and claim in one Redis round trip, or the fallbacks above. */
  async claim(input: ClaimInput, client: string): Promise<AdmittedClaim> {
    const buckets = this.d.admissionBuckets(client);
    let cold: boolean;
    let admission: Decision;
    try {
      const answer = await this.d.claims.admitAndClaim(buckets, input);
      admission = this.d.bucket.fromRedis(answer.admission, buckets);
      return answer.claim ? { ...answer.claim, admission } : { kind: 'limited', admission };
    } catch (e) {
      cold = e instanceof ClaimsColdError;
      if (e instanceof ClaimsColdError) {
        admission = this.d.bucket.fromRedis(e.admission, buckets);
        void this.warm();
      } else {
        admission = this.d.bucket.locally(buckets, e as Error);
        if (!admission.allowed) return { kind: 'limited', admission };
      }
    }
    this.d.onFallback(cold ? 'dedup_cold' : 'dedup');
    const conflict = await this.d.repository.findActive(input.nikIndex, input.emailIndex);
    if (conflict) return { kind: 'conflict', reason: conflict, registrationId: input.registrationId, admission };
    // While cold, recorded at once (NX) so the rebuild's set includes it. Otherwise its completion,
    // after Kafka acknowledged, writes the claims (retried until Redis answers): never before, or a
    // failed publish would leave a claim that no retry of the same applicant could get past.
    if (cold) await this.d.claims.seed(input).catch(() => undefined);
    return { kind: 'claimed', registrationId: input.registrationId, admission };
  }

  /**
   * Admission alone, for a registration refused before its claim (an invalid body, a bad header): the
   * client's bucket (the first of admissionBuckets), not the global one real applicants need.
   */
  admit(client: string): Promise<Decision> {
    return this.d.bucket.take(this.d.admissionBuckets(client).slice(0, 1));
  }

  /** After Kafka acknowledged: the claims become permanent (retried while Redis cannot take it). */
  complete(input: ClaimInput, emailMasked: string): Promise<void> {
    return this.d.claims.complete(input, emailMasked).catch(() => this.incomplete.add(input, emailMasked));
  }

  /**
   * The projector stored these registrations: their claims become permanent, also when the API that
   * took them was killed before its completion (otherwise they would lapse). Best effort: while Redis
   * is away the claims are rebuilt from PostgreSQL anyway.
   */
  settle(stored: ReadonlyArray<Pick<ClaimInput, 'nikIndex' | 'emailIndex' | 'registrationId'>>): Promise<void> {
    return this.d.claims.settle(stored).catch((e: Error) => this.d.log.warn({ errName: e.name, registrations: stored.length }, 'settling claims failed'));
  }

  /**
   * The registry matched this registration: it holds the NIK (later ones naming it are conflicts).
   * Best effort: without Redis, PostgreSQL answers the same (findActive), and a rebuild restores it.
   */
  async holdNik(nikIndex: string, registrationId: string): Promise<void> {
    try {
      if (!(await this.d.claims.holdNik(nikIndex, registrationId))) this.d.log.warn({ registrationId }, 'the NIK is held by another matched registration');
    } catch (e) {
      this.d.log.warn({ errName: (e as Error).name }, 'holding a matched NIK in Redis failed');
    }
  }

  /** Expired registrations give back what they claimed (best effort: a rebuild from PostgreSQL agrees). */
  release(expired: ReadonlyArray<Pick<ClaimInput, 'nikIndex' | 'emailIndex' | 'registrationId'>>): Promise<void> {
    return this.d.claims
      .release(expired)
      .catch((e: Error) => this.d.log.warn({ errName: e.name, registrations: expired.length }, 'releasing expired claims failed'));
  }

  /** The publish failed: the Idempotency-Key is freed, NIK and email stay for the same person's retry. */
  markUncertain(input: ClaimInput): Promise<void> {
    return this.d.claims.markUncertain(input);
  }

  /** For a NIK correction: true if the NIK is free or already this registration's (throws without Redis). */
  claimNik(nikIndex: string, registrationId: string): Promise<boolean> {
    return this.d.claims.claimNik(nikIndex, registrationId);
  }

  releaseNik(nikIndex: string, registrationId: string): Promise<void> {
    return this.d.claims.releaseNik(nikIndex, registrationId);
  }

  /** A registration Kafka stored that the projector has not written to PostgreSQL yet. */
  accepted(registrationId: string): Promise<{ submittedAt: string; emailMasked: string } | undefined> {
    return this.d.claims.accepted(registrationId);
  }

  /** Rebuilds the claims from PostgreSQL when Redis lost them (one replica does it; the others wait). */
  warm(): Promise<void> {
    return (this.rebuilding ??= this.d.claims
      .rebuild(this.d.repository.activeClaims())
      .then((restored) => {
        if (restored) this.d.log.warn({ restored }, 'dedup claims rebuilt from PostgreSQL');
      })
      .catch((e: Error) => this.d.log.warn({ errName: e.name }, 'rebuilding dedup claims failed; PostgreSQL answers meanwhile'))
      .finally(() => {
        this.rebuilding = undefined;
      }));
  }

  /** Redis (re)connected, perhaps restarted empty: check the claims, retry what it could not take. */
  redisReady(): void {
    void this.warm();
    this.incomplete.retrySoon();
  }

  stop(): void {
    this.incomplete.stop();
  }
}

const RETRY = { baseMs: 500, maxMs: 5_000, minMs: 500 };

/**
 * Completions (see `ClaimsStore.complete`) that Redis could not take — registrations Kafka stored while
 * Redis was down or reconnecting — retried until it does: with back-off (0.5 s, then jittered up to 5 s) and
 * whenever the client reconnects. Without this, a registration accepted through PostgreSQL would have no
 * claim in Redis if the rebuild read PostgreSQL before the projector stored it. Bounded: past `max` the
 * oldest are dropped (the projector's unique index still refuses their duplicates).
 */
export class PendingCompletions {
  private readonly pending = new Map<string, { input: ClaimInput; emailMasked: string }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;
  /** Failed rounds since the last success: the retry waits 0.5 s, then up to 1, 2, 4, 5 s (jittered). */
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly complete: (i: ClaimInput, emailMasked: string) => Promise<void>,
    private readonly onStillFailing: (e: Error) => void,
    private readonly max = 100_000,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  add(input: ClaimInput, emailMasked: string): void {
    if (!this.pending.has(input.registrationId) && this.pending.size >= this.max) {
      this.pending.delete(this.pending.keys().next().value as string);
    }
    this.pending.set(input.registrationId, { input, emailMasked });
    this.schedule();
  }

  /** Redis is back: try at once. */
  retrySoon(): void {
    this.failures = 0;
    if (this.pending.size > 0) this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delay = backoffMs(this.failures, RETRY)): void {
    if (this.stopped || this.flushing || (this.timer && delay > 0)) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), delay);
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    this.flushing = true;
    try {
      for (const [id, { input, emailMasked }] of this.pending) {
        await this.complete(input, emailMasked);
        this.pending.delete(id);
      }
      this.failures = 0;
    } catch (e) {
      this.onStillFailing(e as Error);
      this.failures++;
    } finally {
      this.flushing = false;
    }
    if (this.pending.size > 0) this.schedule();
  }
}
