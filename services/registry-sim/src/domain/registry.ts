import { createHash } from 'node:crypto';
import { checkNikMatchesBirthDate, parseNik } from '@gelombang/nik';

export type RegistryMode = 'open' | 'strict';
export type VerifyResult = 'MATCH' | 'NOT_FOUND' | 'DATA_MISMATCH' | 'INACTIVE';
export const VERIFY_RESULTS: readonly VerifyResult[] = ['MATCH', 'NOT_FOUND', 'DATA_MISMATCH', 'INACTIVE'];

export interface Person {
  nik: string;
  fullName: string;
  birthDate: string;
  status?: 'active' | 'inactive';
}

export interface Faults {
  /** Share of answered calls that get 503 instead (0..1). */
  errorRate: number;
  /** Every call gets 503. */
  outage: boolean;
  /** Overrides the configured latency while set. */
  latencyMs?: number;
}

export interface RegistryStats {
  /** Authenticated calls received (over-quota ones included). */
  requests: number;
  /** Calls answered 200 with a result. */
  answered: number;
  /** Calls refused with 429 because their wall-clock second was already full. */
  overQuota: number;
  /** The most authenticated calls received within one wall-clock second. */
  maxInOneSecond: number;
  byResult: Record<VerifyResult, number>;
  /** Calls refused with 401. */
  unauthorized: number;
  /** Calls answered 503 by an injected fault. */
  faulted: number;
}

interface Stored {
  name: string;
  birthDate: string;
  active: boolean;
}

/** What the simulator knows of the calls per attempt (decision 0024): no personal data, only counts. */
export interface CallLedger {
  /** Attempts seen: distinct idempotency keys (or, for a call without one, distinct people asked about). */
  attempts: number;
  /** Verifications actually made (an answer computed, not replayed), over all attempts. */
  verified: number;
  /** Calls answered from the ledger: the same idempotency key asked again. */
  replayed: number;
  /** The most verifications made for one attempt: 1 when every attempt cost at most one call. */
  maxVerifiedPerAttempt: number;
  /** Attempts verified more than once. */
  attemptsVerifiedTwice: number;
}

/** At most this many attempts are remembered (oldest forgotten first): a long load run stays bounded. */
const LEDGER_LIMIT = 200_000;

/** Names compare without case and without whitespace: the registry spells them its own way. */
export const normaliseName = (name: string): string => name.normalize('NFC').toLocaleLowerCase('id-ID').replace(/\s+/g, '');

// A wide window: the simulator only asks whether the NIK is well formed, not whether the person may apply.
const STRUCTURE_WINDOW = { minAge: 0, maxAge: 99 };

const zeroStats = (): RegistryStats => ({
  requests: 0,
  answered: 0,
  overQuota: 0,
  maxInOneSecond: 0,
  byResult: { MATCH: 0, NOT_FOUND: 0, DATA_MISMATCH: 0, INACTIVE: 0 },
  unauthorized: 0,
  faulted: 0,
});

/**
 * The simulated population registry: who exists, how the quota is counted (per wall-clock second,
 * as the partner does), which faults are injected, and what was seen. Plain state, no HTTP.
 */
export class PopulationRegistry {
  private people = new Map<string, Stored>();
  private absent = new Set<string>();
  private currentSecond = -1;
  private inCurrentSecond = 0;
  private counters = zeroStats();
  /** Per attempt (idempotency key, else a digest of the person asked about): its answer and how often it was verified. */
  private ledger = new Map<string, { result?: VerifyResult; verified: number }>();
  private replays = 0;
  faults: Faults = { errorRate: 0, outage: false };

  constructor(private readonly opts: { mode: RegistryMode; quotaPerSec: number; latencyMs?: number; now?: () => number; random?: () => number }) {}

  /** How long the next answer takes: the injected latency (or the configured one), plus up to a quarter more. */
  latencyMs(): number {
    const base = this.faults.latencyMs ?? this.opts.latencyMs ?? 0;
    return base + Math.floor((this.opts.random ?? Math.random)() * (base / 4));
  }

  get mode(): RegistryMode {
    return this.opts.mode;
  }

  get size(): number {
    return this.people.size;
  }

  /** Adds or replaces people; `absent` NIKs are removed and never match, even in open mode. */
  load(people: readonly Person[], absent: readonly string[] = []): { loaded: number; absent: number } {
    for (const p of people) {
      this.people.set(p.nik, { name: normaliseName(p.fullName), birthDate: p.birthDate, active: p.status !== 'inactive' });
      this.absent.delete(p.nik);
    }
    for (const nik of absent) {
      this.people.delete(nik);
      this.absent.add(nik);
    }
    return { loaded: people.length, absent: absent.length };
  }

  /** Forgets people, faults and statistics. */
  reset(): void {
    this.people.clear();
    this.absent.clear();
    this.faults = { errorRate: 0, outage: false };
    this.counters = zeroStats();
    this.ledger.clear();
    this.replays = 0;
    this.currentSecond = -1;
    this.inCurrentSecond = 0;
  }

  setFaults(f: Partial<Faults>): Faults {
    const next: Faults = { ...this.faults, ...f };
    if (f.latencyMs === undefined && 'latencyMs' in f) delete next.latencyMs;
    this.faults = next;
    return this.faults;
  }

  noteUnauthorized(): void {
    this.counters.unauthorized++;
  }

  /** Counts one authenticated call in its wall-clock second; false when that second is over quota. */
  admit(): boolean {
    const second = Math.floor((this.opts.now ?? Date.now)() / 1000);
    if (second !== this.currentSecond) {
      this.currentSecond = second;
      this.inCurrentSecond = 0;
    }
    this.inCurrentSecond++;
    this.counters.requests++;
    this.counters.maxInOneSecond = Math.max(this.counters.maxInOneSecond, this.inCurrentSecond);
    if (this.inCurrentSecond > this.opts.quotaPerSec) {
      this.counters.overQuota++;
      return false;
    }
    return true;
  }

  /** Whether an injected fault turns this call into a 503. */
  failsNow(): boolean {
    const failed = this.faults.outage || (this.faults.errorRate > 0 && (this.opts.random ?? Math.random)() < this.faults.errorRate);
    if (failed) this.counters.faulted++;
    return failed;
  }

  /**
   * Answers a check. With an idempotency key (the caller's attempt id) an attempt answered before is
   * answered again from the ledger, unverified and uncounted (`replayed`): what the real registry would
   * need to offer so that a caller that lost an answer (a crash, a timeout) can ask again without a
   * second verification. Without a key, every call is a verification, recorded under the person asked
   * about (a digest, never the data).
   */
  verifyOnce(q: { nik: string; fullName: string; birthDate: string }, idempotencyKey?: string): { result: VerifyResult; replayed: boolean } {
    const key = idempotencyKey
      ? `key:${idempotencyKey}`
      : `person:${createHash('sha256').update(`${q.nik}\u0000${q.fullName}\u0000${q.birthDate}`).digest('base64url')}`;
    const seen = this.ledger.get(key);
    if (idempotencyKey && seen?.result) {
      this.replays++;
      return { result: seen.result, replayed: true };
    }
    const result = this.verify(q);
    if (seen) seen.verified++;
    else {
      if (this.ledger.size >= LEDGER_LIMIT) this.ledger.delete(this.ledger.keys().next().value!);
      this.ledger.set(key, { verified: 1 });
    }
    this.ledger.get(key)!.result = result;
    return { result, replayed: false };
  }

  /** One verification, counted in the statistics (not in the ledger: verifyOnce is the HTTP route's). */
  verify(q: { nik: string; fullName: string; birthDate: string }): VerifyResult {
    const result = this.decide(q);
    this.counters.answered++;
    this.counters.byResult[result]++;
    return result;
  }

  calls(): CallLedger {
    let verified = 0;
    let max = 0;
    let twice = 0;
    for (const e of this.ledger.values()) {
      verified += e.verified;
      max = Math.max(max, e.verified);
      if (e.verified > 1) twice++;
    }
    return { attempts: this.ledger.size, verified, replayed: this.replays, maxVerifiedPerAttempt: max, attemptsVerifiedTwice: twice };
  }

  stats(): RegistryStats {
    return { ...this.counters, byResult: { ...this.counters.byResult } };
  }

  private decide({ nik, fullName, birthDate }: { nik: string; fullName: string; birthDate: string }): VerifyResult {
    if (this.absent.has(nik)) return 'NOT_FOUND';
    const stored = this.people.get(nik);
    if (stored) {
      if (!stored.active) return 'INACTIVE';
      return stored.name === normaliseName(fullName) && stored.birthDate === birthDate ? 'MATCH' : 'DATA_MISMATCH';
    }
    if (this.opts.mode === 'strict') return 'NOT_FOUND';
    // Open mode: every well-formed NIK is somebody; the stated birth date must be the one it encodes.
    const parsed = parseNik(nik, { today: new Date((this.opts.now ?? Date.now)()), ...STRUCTURE_WINDOW });
    if (!parsed.ok) return 'NOT_FOUND';
    try {
      return checkNikMatchesBirthDate(nik, birthDate).length === 0 ? 'MATCH' : 'DATA_MISMATCH';
    } catch {
      return 'DATA_MISMATCH';
    }
  }
}
