import type { Redis, Result } from 'ioredis';
import { bucketArgs, defineCommandOnce, TAKE_BUCKETS_LUA, type BucketSpec } from '@gelombang/platform';

/** The scripts below, as ioredis calls them once defineCommand has registered them. */
declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** ADMIT_AND_CLAIM: the number of keys, the buckets' and the claim's keys, then their arguments. */
    intakeAdmitAndClaim(numKeys: number, ...keysAndArgs: Array<string | number>): Result<[string, string, number, number, number, number], Context>;
    /** COMPLETE: five keys and five arguments per registration. */
    intakeComplete(numKeys: number, ...keysAndArgs: Array<string | number>): Result<number, Context>;
    intakeMarkUncertain(nik: string, email: string, idem: string, uncertain: string, registrationId: string, ttlSec: number): Result<number, Context>;
    intakeClaimNik(nik: string, registrationId: string): Result<string, Context>;
    /** SETTLE: the number of keys, two keys per registration, then one id each. */
    intakeSettle(numKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
    intakeReleaseNik(nik: string, registrationId: string): Result<number, Context>;
  }
}

export type ClaimResult =
  | { kind: 'claimed'; registrationId: string }
  | { kind: 'duplicate'; field: 'nik' | 'email' }
  | { kind: 'idempotent'; state: 'pending' | 'done'; bodyHash: string; registrationId: string; submittedAt: string };

/*
 * The synchronous fast path of "one NIK, one email, one registration" and of Idempotency-Key, run inside
 * ADMIT_AND_CLAIM. KEYS[k+1..k+4]: nik, email, idem ('' when absent), the "claims are complete" marker.
 * ARGV[a+1..a+6]: registration id, body hash, submittedAt, TTL of a pending idem record, uncertain-marker
 * prefix, TTL of a new NIK/email claim.
 * Without the marker (Redis restarted empty: it keeps nothing on disk) the script claims nothing and
 * answers 'cold': the caller asks PostgreSQL instead while the claims are rebuilt from it.
 * A claim whose publish failed is "uncertain" (Kafka may still have stored the event): the same person
 * (same NIK and same email) retrying gets the same registration id back, so a late event and the retry
 * collapse into one registration instead of two.
 * A new claim carries a TTL until COMPLETE (or the projector, on storing the row) makes it permanent:
 * a process killed between the claim and Kafka's acknowledgement leaves claims that lapse by
 * themselves, and a pending idem record that lapses within seconds. Until a claim lapses, the same
 * person (NIK and email held by one registration whose claim still has a TTL) gets that id back, so a
 * retry after the crash is accepted at once; a late event and the retry then share the id.
 */
const CLAIM_LUA = `
local function claim(k, a)
  if redis.call('EXISTS', KEYS[k + 4]) == 0 then return {'cold', ''} end
  if KEYS[k + 3] ~= '' then
    local prior = redis.call('GET', KEYS[k + 3])
    if prior then return {'idem', prior} end
  end
  local id = ARGV[a + 1]
  local n = redis.call('GET', KEYS[k + 1])
  local e = redis.call('GET', KEYS[k + 2])
  if n and n == e and (redis.call('EXISTS', ARGV[a + 5] .. n) == 1 or redis.call('PTTL', KEYS[k + 1]) > 0) then
    id = n
  elseif n then
    return {'dup', 'nik'}
  elseif e then
    return {'dup', 'email'}
  else
    redis.call('SET', KEYS[k + 1], id, 'EX', ARGV[a + 6])
    redis.call('SET', KEYS[k + 2], id, 'EX', ARGV[a + 6])
  end
  if KEYS[k + 3] ~= '' then
    redis.call('SET', KEYS[k + 3], 'pending|' .. ARGV[a + 2] .. '|' .. id .. '|' .. ARGV[a + 3], 'EX', ARGV[a + 4])
  end
  return {'ok', id}
end
`;

/*
 * Admission and claim in one round trip (a registration's hot path): KEYS[1..b] the admission buckets
 * (the client's, the global one), then the claim's four keys; ARGV[1..1+2b] the buckets' cost,
 * capacities and rates, then the claim's six arguments — so b = #KEYS - 4, and the buckets can change
 * without touching the script. Refused admission claims nothing. The answer is the claim's two fields
 * followed by the admission decision: {kind, detail, allowed, remaining, retry, reset}.
 */
const ADMIT_AND_CLAIM = `${TAKE_BUCKETS_LUA}${CLAIM_LUA}
local b = #KEYS - 4
local d = take_buckets(0, b, 1)
if d[1] == 0 then return {'limited', '', d[1], d[2], d[3], d[4]} end
local c = claim(b, 1 + 2 * b)
return {c[1], c[2], d[1], d[2], d[3], d[4]}
`;

/* KEYS: nik, email, idem ('' when absent), uncertain marker. ARGV: registration id, seconds. */
const MARK_UNCERTAIN = `
for i = 1, 2 do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('EXPIRE', KEYS[i], ARGV[2]) end
end
if KEYS[3] ~= '' then
  local v = redis.call('GET', KEYS[3])
  if v and string.find(v, ARGV[1], 1, true) then redis.call('DEL', KEYS[3]) end
end
redis.call('SET', KEYS[4], '1', 'EX', ARGV[2])
return 1
`;

/*
 * For each registration i (0-based), KEYS[5i+1..5i+5]: nik, email, idem ('' when absent), uncertain
 * marker, accepted view; ARGV[5i+1..5i+5]: idempotency record, its TTL, accepted view, its TTL,
 * registration id. Runs only after Kafka acknowledged, so the registration exists: its NIK and email
 * claims are made permanent — or written, when it was accepted through PostgreSQL while Redis could
 * not answer — but a claim held by another registration is left alone. Those acknowledged by one
 * produce request complete together: one script call for all of them instead of one each.
 */
const COMPLETE = `
for i = 0, #KEYS / 5 - 1 do
  local k, a = i * 5, i * 5
  local id = ARGV[a + 5]
  for j = 1, 2 do
    local holder = redis.call('GET', KEYS[k + j])
    if not holder then redis.call('SET', KEYS[k + j], id)
    elseif holder == id then redis.call('PERSIST', KEYS[k + j]) end
  end
  redis.call('DEL', KEYS[k + 4])
  if KEYS[k + 3] ~= '' then redis.call('SET', KEYS[k + 3], ARGV[a + 1], 'EX', ARGV[a + 2]) end
  redis.call('SET', KEYS[k + 5], ARGV[a + 3], 'EX', ARGV[a + 4])
end
return #KEYS / 5
`;

/** Registrations per COMPLETE call at most (a call's arguments are spread onto the stack). */
const COMPLETE_BATCH = 200;

/*
 * The projector stored these registrations (KEYS[2i+1..2i+2]: nik, email; ARGV[i+1]: registration id):
 * their claims become permanent even if the API that took them died before COMPLETE. A claim held by
 * another registration is left alone (PostgreSQL's unique index decided between them).
 */
const SETTLE = `
for i = 0, #ARGV - 1 do
  for j = 1, 2 do
    local key = KEYS[i * 2 + j]
    local holder = redis.call('GET', key)
    if not holder then redis.call('SET', key, ARGV[i + 1])
    elseif holder == ARGV[i + 1] then redis.call('PERSIST', key) end
  end
end
return #ARGV
`;

/* KEYS: nik. ARGV: registration id. Takes a free NIK (or keeps our own); answers who holds it. */
const CLAIM_NIK = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`;

/* KEYS: nik. ARGV: registration id. Frees the NIK only if this registration holds it. */
const RELEASE_NIK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface ClaimInput {
  nikIndex: string;
  emailIndex: string;
  idempotencyKeyHash?: string;
  /** HMAC of the canonical body when an Idempotency-Key came with it ('' otherwise: nothing keeps it). */
  bodyHash: string;
  registrationId: string;
  submittedAt: string;
}

/** How long a claim whose publish failed waits for its owner to retry before it lapses. */
const UNCERTAIN_TTL_SEC = 3600;
/** How long GET answers from Redis for a registration the projector has not written yet. */
const ACCEPTED_VIEW_TTL_SEC = 3600;

/** Redis holds no complete set of claims (it restarted empty): ask PostgreSQL, rebuild the claims. */
export class ClaimsColdError extends Error {
  /** The admission decision, taken before the claim found the set cold. */
  constructor(readonly admission: number[]) {
    super('dedup claims are being rebuilt');
    this.name = 'ClaimsColdError';
  }
}

/** Redis keys and scripts for dedup claims, idempotency records and the "accepted, not yet projected" view. */
export interface ClaimTtls {
  /** Seconds a new NIK/email claim lives unless its registration is completed or projected. */
  pendingClaimSec: number;
  /** Seconds a pending Idempotency-Key record lives: longer than any publish may take. */
  pendingIdempotencySec: number;
}

export class ClaimsStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly idempotencyTtlSec: number,
    private readonly ttls: ClaimTtls = { pendingClaimSec: 900, pendingIdempotencySec: 15 },
  ) {
    // The number of keys comes first in each call of these two (any number of buckets; a batch of any size).
    defineCommandOnce(redis, 'intakeAdmitAndClaim', { lua: ADMIT_AND_CLAIM });
    defineCommandOnce(redis, 'intakeComplete', { lua: COMPLETE });
    defineCommandOnce(redis, 'intakeMarkUncertain', { numberOfKeys: 4, lua: MARK_UNCERTAIN });
    defineCommandOnce(redis, 'intakeClaimNik', { numberOfKeys: 1, lua: CLAIM_NIK });
    defineCommandOnce(redis, 'intakeSettle', { lua: SETTLE });
    defineCommandOnce(redis, 'intakeReleaseNik', { numberOfKeys: 1, lua: RELEASE_NIK });
  }

  private keys(i: Pick<ClaimInput, 'nikIndex' | 'emailIndex' | 'idempotencyKeyHash'>): [string, string, string] {
    return [`${this.prefix}nik:${i.nikIndex}`, `${this.prefix}email:${i.emailIndex}`, i.idempotencyKeyHash ? `${this.prefix}idem:${i.idempotencyKeyHash}` : ''];
  }

  private uncertainKey(registrationId: string) {
    return `${this.prefix}uncertain:${registrationId}`;
  }

  /**
   * The admission buckets (the intake passes the client's and the global one), then the claim, in one script call. `admission` is
   * the raw bucket decision for TokenBucket.fromRedis; `claim` is undefined when admission refused.
   * Throws ClaimsColdError (admitted, nothing claimed: ask PostgreSQL) and Redis errors.
   */
  async admitAndClaim(buckets: readonly BucketSpec[], i: ClaimInput): Promise<{ admission: number[]; claim?: ClaimResult }> {
    const [kind, detail, ...admission] = await this.redis.intakeAdmitAndClaim(
      buckets.length + 4,
      ...buckets.map((b) => b.key),
      ...this.keys(i),
      this.readyKey,
      ...bucketArgs(buckets),
      ...this.claimArgs(i),
    );
    if (kind === 'limited') return { admission };
    if (kind === 'cold') throw new ClaimsColdError(admission);
    return { admission, claim: this.claimResult(kind, detail) };
  }

  private claimArgs(i: ClaimInput): Array<string | number> {
    return [i.registrationId, i.bodyHash, i.submittedAt, this.ttls.pendingIdempotencySec, this.uncertainKey(''), this.ttls.pendingClaimSec];
  }

  private claimResult(kind: string, detail: string): ClaimResult {
    if (kind === 'ok') return { kind: 'claimed', registrationId: detail };
    if (kind === 'dup') return { kind: 'duplicate', field: detail as 'nik' | 'email' };
    const [state, bodyHash, registrationId, submittedAt] = detail.split('|') as ['pending' | 'done', string, string, string];
    return { kind: 'idempotent', state, bodyHash, registrationId, submittedAt };
  }

  /**
   * After Kafka acknowledged: claims become permanent, the idempotency record replayable, GET answers.
   * Calls made in the same event-loop turn (one produce acknowledgement resolves a whole batch of
   * registrations at once) go to Redis as one script call; each caller still learns its own outcome.
   */
  complete(i: ClaimInput, emailMasked: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.completing.push({ input: i, emailMasked, resolve, reject });
      if (this.completing.length === 1) setImmediate(() => this.flushComplete());
    });
  }

  private completing: Array<{ input: ClaimInput; emailMasked: string; resolve: () => void; reject: (e: Error) => void }> = [];

  private flushComplete(): void {
    const all = this.completing;
    this.completing = [];
    for (let from = 0; from < all.length; from += COMPLETE_BATCH) {
      const batch = all.slice(from, from + COMPLETE_BATCH);
      const keys: string[] = [];
      const args: Array<string | number> = [];
      for (const { input: i, emailMasked } of batch) {
        keys.push(...this.keys(i), this.uncertainKey(i.registrationId), `${this.prefix}accepted:${i.registrationId}`);
        args.push(
          ['done', i.bodyHash, i.registrationId, i.submittedAt].join('|'),
          this.idempotencyTtlSec,
          JSON.stringify({ submittedAt: i.submittedAt, emailMasked }),
          ACCEPTED_VIEW_TTL_SEC,
          i.registrationId,
        );
      }
      this.redis.intakeComplete(keys.length, ...keys, ...args).then(
        () => batch.forEach((c) => c.resolve()),
        (e: Error) => batch.forEach((c) => c.reject(e)),
      );
    }
  }

  /** After a failed publish: the Idempotency-Key is freed, NIK and email stay reserved for their owner's retry. */
  async markUncertain(i: ClaimInput): Promise<void> {
    await this.redis.intakeMarkUncertain(...this.keys(i), this.uncertainKey(i.registrationId), i.registrationId, UNCERTAIN_TTL_SEC);
  }

  private get readyKey() {
    return `${this.prefix}claims:complete`;
  }

  /**
   * Rebuilds the NIK and email claims from PostgreSQL (the truth) after Redis lost them, then marks
   * the set complete. One replica does it (a lock with a TTL); the others keep asking PostgreSQL
   * until the marker appears. Claims taken meanwhile are kept (SET NX never overwrites).
   */
  async rebuild(rows: AsyncIterable<Array<{ registrationId: string; nikIndex: string; emailIndex: string }>>): Promise<number | undefined> {
    if (await this.redis.exists(this.readyKey)) return 0;
    const lock = `${this.prefix}claims:rebuilding`;
    if ((await this.redis.set(lock, '1', 'EX', 300, 'NX')) !== 'OK') return undefined;
    try {
      let restored = 0;
      for await (const batch of rows) {
        const tx = this.redis.pipeline();
        for (const r of batch)
          tx.set(`${this.prefix}nik:${r.nikIndex}`, r.registrationId, 'NX').set(`${this.prefix}email:${r.emailIndex}`, r.registrationId, 'NX');
        const failed = (await tx.exec())?.find(([err]) => err)?.[0];
        if (failed) throw failed; // the marker must not claim a set that is not complete
        restored += batch.length;
      }
      await this.redis.set(this.readyKey, new Date().toISOString());
      return restored;
    } finally {
      await this.redis.del(lock);
    }
  }

  /** While the claims are cold: record one taken through PostgreSQL, so it counts once they are warm. */
  async seed(i: Pick<ClaimInput, 'nikIndex' | 'emailIndex' | 'registrationId'>): Promise<void> {
    const results = await this.redis
      .pipeline()
      .set(`${this.prefix}nik:${i.nikIndex}`, i.registrationId, 'NX')
      .set(`${this.prefix}email:${i.emailIndex}`, i.registrationId, 'NX')
      .exec();
    // A pipeline resolves even when its commands failed: each answer carries its own error.
    const failed = results?.find(([err]) => err)?.[0];
    if (failed || !results) throw failed ?? new Error('Redis answered nothing');
  }

  /** The projector stored these registrations: their NIK and email claims become permanent. */
  async settle(stored: ReadonlyArray<Pick<ClaimInput, 'nikIndex' | 'emailIndex' | 'registrationId'>>): Promise<void> {
    for (let from = 0; from < stored.length; from += COMPLETE_BATCH) {
      const batch = stored.slice(from, from + COMPLETE_BATCH);
      const keys = batch.flatMap((r) => this.keys(r).slice(0, 2));
      await this.redis.intakeSettle(keys.length, ...keys, ...batch.map((r) => r.registrationId));
    }
  }

  /** For a NIK correction: true if the NIK is free or already this registration's. */
  async claimNik(nikIndex: string, registrationId: string): Promise<boolean> {
    return (await this.redis.intakeClaimNik(`${this.prefix}nik:${nikIndex}`, registrationId)) === registrationId;
  }

  /** Gives a NIK back (the typo after a correction, or a correction that lost in PostgreSQL). */
  async releaseNik(nikIndex: string, registrationId: string): Promise<void> {
    await this.redis.intakeReleaseNik(`${this.prefix}nik:${nikIndex}`, registrationId);
  }

  async accepted(registrationId: string): Promise<{ submittedAt: string; emailMasked: string } | undefined> {
    const v = await this.redis.get(`${this.prefix}accepted:${registrationId}`);
    return v ? JSON.parse(v) : undefined;
  }
}
