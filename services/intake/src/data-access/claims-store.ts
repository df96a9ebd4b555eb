import type { Redis, Result } from 'ioredis';
import type { RegistrationConflict } from '@gelombang/contracts';
import { bucketArgs, defineCommandOnce, TAKE_BUCKETS_LUA, type BucketSpec } from '@gelombang/platform';

/** The scripts below, as ioredis calls them once defineCommand has registered them. */
declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** ADMIT_AND_CLAIM: the number of keys, the buckets' and the claim's keys, then their arguments. */
    intakeAdmitAndClaim(numKeys: number, ...keysAndArgs: Array<string | number>): Result<[string, string, number, number, number, number], Context>;
    /** COMPLETE: six keys and six arguments per registration. */
    intakeComplete(numKeys: number, ...keysAndArgs: Array<string | number>): Result<number, Context>;
    intakeMarkUncertain(
      nikHolder: string,
      email: string,
      idem: string,
      uncertain: string,
      nikPending: string,
      registrationId: string,
      ttlSec: number,
    ): Result<number, Context>;
    intakeClaimNik(nikHolder: string, nikPending: string, registrationId: string, pendingSec: number): Result<string, Context>;
    /** SETTLE: the number of keys, two keys per registration, then the pending seconds and one id each. */
    intakeSettle(numKeys: number, ...keysAndArgs: Array<string | number>): Result<number, Context>;
    intakeHoldNik(nikHolder: string, nikPending: string, registrationId: string): Result<string, Context>;
    /** RELEASE: the number of keys, two keys per registration, then one id each. */
    intakeRelease(numKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
    intakeReleaseNik(nikHolder: string, nikPending: string, registrationId: string): Result<number, Context>;
  }
}

/** Why a well-formed registration cannot hold what it names (answered like any other by default). */
export type ConflictReason = RegistrationConflict;

export type ClaimResult =
  | { kind: 'claimed'; registrationId: string }
  | { kind: 'conflict'; reason: ConflictReason; registrationId: string }
  | { kind: 'idempotent'; state: 'pending' | 'done'; bodyHash: string; registrationId: string; submittedAt: string };

/*
 * The synchronous fast path of "who holds a NIK, an email, an Idempotency-Key", run inside
 * ADMIT_AND_CLAIM (issue #13, decision 0017). KEYS[k+1..k+5]: NIK holder (the registration the
 * registry matched), email, idem ('' when absent), the "claims are complete" marker, the NIK's pending
 * registrations (a sorted set scored by when each stops counting, ms).
 * ARGV[a+1..a+7]: registration id, body hash, submittedAt, TTL of a pending idem record, uncertain-marker
 * prefix, TTL of a new claim, most pending registrations per NIK.
 *
 * A NIK is not taken by whoever names it first: up to ARGV[a+7] pending registrations may name it, and
 * it is held only by the one the registry matched (set by the projector), so a squatter with a made-up
 * name cannot stop its owner. An email is held by one registration (permanent once Kafka acknowledged).
 * A conflict — the NIK held by a matched registration or busy with pending ones, the email held — is
 * answered {'conflict', why, id}: the caller accepts it like any other (same answer, same work) and the
 * projector stores it as rejected_duplicate; its Idempotency-Key is recorded like any other's, so a
 * replay cannot tell them apart either.
 * Without the marker (Redis restarted empty: it keeps nothing on disk) the script claims nothing and
 * answers 'cold': the caller asks PostgreSQL instead while the claims are rebuilt from it.
 * A new claim carries a TTL until COMPLETE (or the projector, on storing the row) makes it permanent: a
 * process killed between the claim and Kafka's acknowledgement leaves claims that lapse by themselves,
 * and a pending idem record that lapses within seconds. The same person (the email held by a
 * registration pending for this NIK, whose claim still has a TTL or whose publish failed) gets that id
 * back, so a retry after a crash is accepted at once and a late event shares its id.
 */
const CLAIM_LUA = `
local function claim(k, a)
  if redis.call('EXISTS', KEYS[k + 4]) == 0 then return {'cold', ''} end
  if KEYS[k + 3] ~= '' then
    local prior = redis.call('GET', KEYS[k + 3])
    if prior then return {'idem', prior} end
  end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local id = ARGV[a + 1]
  local kind, why = 'ok', ''
  redis.call('ZREMRANGEBYSCORE', KEYS[k + 5], '-inf', now)
  local e = redis.call('GET', KEYS[k + 2])
  if e then
    if redis.call('ZSCORE', KEYS[k + 5], e) and (redis.call('EXISTS', ARGV[a + 5] .. e) == 1 or redis.call('PTTL', KEYS[k + 2]) > 0) then
      id = e
    else
      kind, why = 'conflict', 'EMAIL_REGISTERED'
    end
  elseif redis.call('EXISTS', KEYS[k + 1]) == 1 then
    kind, why = 'conflict', 'NIK_HELD'
  elseif redis.call('ZCARD', KEYS[k + 5]) >= tonumber(ARGV[a + 7]) then
    kind, why = 'conflict', 'NIK_BUSY'
  else
    redis.call('SET', KEYS[k + 2], id, 'EX', ARGV[a + 6])
    redis.call('ZADD', KEYS[k + 5], now + tonumber(ARGV[a + 6]) * 1000, id)
    if redis.call('TTL', KEYS[k + 5]) < tonumber(ARGV[a + 6]) then redis.call('EXPIRE', KEYS[k + 5], ARGV[a + 6]) end
  end
  if KEYS[k + 3] ~= '' then
    redis.call('SET', KEYS[k + 3], 'pending|' .. ARGV[a + 2] .. '|' .. id .. '|' .. ARGV[a + 3], 'EX', ARGV[a + 4])
  end
  if kind == 'conflict' then return {'conflict', why .. '|' .. id} end
  return {'ok', id}
end
`;

/*
 * Admission and claim in one round trip (a registration's hot path): KEYS[1..b] the admission buckets
 * (the client's, the global one), then the claim's five keys; ARGV[1..1+2b] the buckets' cost,
 * capacities and rates, then the claim's seven arguments — so b = #KEYS - 5, and the buckets can change
 * without touching the script. Refused admission claims nothing. The answer is the claim's two fields
 * followed by the admission decision: {kind, detail, allowed, remaining, retry, reset}.
 */
const ADMIT_AND_CLAIM = `${TAKE_BUCKETS_LUA}${CLAIM_LUA}
local b = #KEYS - 5
local d = take_buckets(0, b, 1)
if d[1] == 0 then return {'limited', '', d[1], d[2], d[3], d[4]} end
local c = claim(b, 1 + 2 * b)
return {c[1], c[2], d[1], d[2], d[3], d[4]}
`;

/*
 * KEYS: NIK holder (unused), email, idem ('' when absent), uncertain marker, the NIK's pending set.
 * ARGV: registration id, seconds.
 */
const MARK_UNCERTAIN = `
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
if redis.call('ZSCORE', KEYS[5], ARGV[1]) then
  local t = redis.call('TIME')
  redis.call('ZADD', KEYS[5], 'XX', tonumber(t[1]) * 1000 + tonumber(ARGV[2]) * 1000, ARGV[1])
  if redis.call('TTL', KEYS[5]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[5], ARGV[2]) end
end
if KEYS[3] ~= '' then
  local v = redis.call('GET', KEYS[3])
  if v and string.find(v, ARGV[1], 1, true) then redis.call('DEL', KEYS[3]) end
end
redis.call('SET', KEYS[4], '1', 'EX', ARGV[2])
return 1
`;

/*
 * For each registration i (0-based), KEYS[6i+1..6i+6]: NIK holder (unused), email, idem ('' when
 * absent), uncertain marker, accepted view, the NIK's pending set; ARGV[6i+1..6i+6]: idempotency record,
 * its TTL, accepted view, its TTL, registration id, seconds a pending registration counts against its
 * NIK ('0' for a conflict, which claimed nothing). Runs only after Kafka acknowledged, so the
 * registration exists: its email claim is made permanent — or written, when it was accepted through
 * PostgreSQL while Redis could not answer — but a claim held by another registration is left alone; it
 * counts against its NIK's pending bound until it is matched (the projector then holds the NIK) or the
 * time runs out. Those acknowledged by one produce request complete together: one script call.
 */
const COMPLETE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000
for i = 0, #KEYS / 6 - 1 do
  local k, a = i * 6, i * 6
  local id = ARGV[a + 5]
  local pendingSec = tonumber(ARGV[a + 6])
  if pendingSec > 0 then
    local holder = redis.call('GET', KEYS[k + 2])
    if not holder then redis.call('SET', KEYS[k + 2], id)
    elseif holder == id then redis.call('PERSIST', KEYS[k + 2]) end
    redis.call('ZADD', KEYS[k + 6], now + pendingSec * 1000, id)
    if redis.call('TTL', KEYS[k + 6]) < pendingSec then redis.call('EXPIRE', KEYS[k + 6], pendingSec) end
  end
  redis.call('DEL', KEYS[k + 4])
  if KEYS[k + 3] ~= '' then redis.call('SET', KEYS[k + 3], ARGV[a + 1], 'EX', ARGV[a + 2]) end
  redis.call('SET', KEYS[k + 5], ARGV[a + 3], 'EX', ARGV[a + 4])
end
return #KEYS / 6
`;

/** Registrations per COMPLETE call at most (a call's arguments are spread onto the stack). */
const COMPLETE_BATCH = 200;

/*
 * The projector stored these registrations (KEYS[2i+1..2i+2]: email, the NIK's pending set; ARGV[1]:
 * seconds a pending registration counts, ARGV[i+2]: registration id): their email claims become
 * permanent even if the API that took them died before COMPLETE. A claim held by another registration
 * is left alone (PostgreSQL's unique index decided between them).
 */
const SETTLE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000
local pendingSec = tonumber(ARGV[1])
for i = 0, #ARGV - 2 do
  local id = ARGV[i + 2]
  local holder = redis.call('GET', KEYS[i * 2 + 1])
  if not holder then redis.call('SET', KEYS[i * 2 + 1], id)
  elseif holder == id then redis.call('PERSIST', KEYS[i * 2 + 1]) end
  redis.call('ZADD', KEYS[i * 2 + 2], 'GT', now + pendingSec * 1000, id)
  if redis.call('TTL', KEYS[i * 2 + 2]) < pendingSec then redis.call('EXPIRE', KEYS[i * 2 + 2], pendingSec) end
end
return #ARGV - 1
`;

/*
 * The registry matched registration ARGV[1] (KEYS: NIK holder, the NIK's pending set): it holds the NIK
 * from now on, and no longer counts as pending. Answers the holder (another one only if two were
 * matched, which the NIK service prevents).
 */
const HOLD_NIK = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return ARGV[1]
`;

/*
 * A NIK correction (KEYS: NIK holder, the NIK's pending set; ARGV: registration id, seconds it counts):
 * the corrected NIK must not be held by another (matched) registration; it then counts as pending.
 */
const CLAIM_NIK = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[2], tonumber(t[1]) * 1000 + tonumber(ARGV[2]) * 1000, ARGV[1])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return ARGV[1]
`;

/*
 * Expired registrations (KEYS[2i+1..2i+2]: email, the NIK's pending set; ARGV[i+1]: registration id):
 * the email is released if it is still theirs, and they stop counting against their NIK.
 */
const RELEASE = `
for i = 0, #ARGV - 1 do
  if redis.call('GET', KEYS[i * 2 + 1]) == ARGV[i + 1] then redis.call('DEL', KEYS[i * 2 + 1]) end
  redis.call('ZREM', KEYS[i * 2 + 2], ARGV[i + 1])
end
return #ARGV
`;

/* KEYS: NIK holder, the NIK's pending set. ARGV: registration id. Gives the NIK back if it is this registration's. */
const RELEASE_NIK = `
redis.call('ZREM', KEYS[2], ARGV[1])
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
  /** Set when the claim answered a conflict: the completion then records only the Idempotency-Key and the view. */
  conflict?: ConflictReason;
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
  /** Seconds an accepted registration counts against its NIK's pending bound (until the registry matches one). */
  pendingRegistrationSec: number;
  /** Most pending registrations that may name one NIK. */
  maxPendingPerNik: number;
}

export const DEFAULT_CLAIM_TTLS: ClaimTtls = { pendingClaimSec: 900, pendingIdempotencySec: 15, pendingRegistrationSec: 72 * 3600, maxPendingPerNik: 3 };

export class ClaimsStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly idempotencyTtlSec: number,
    private readonly ttls: ClaimTtls = DEFAULT_CLAIM_TTLS,
  ) {
    // The number of keys comes first in each call of these two (any number of buckets; a batch of any size).
    defineCommandOnce(redis, 'intakeAdmitAndClaim', { lua: ADMIT_AND_CLAIM });
    defineCommandOnce(redis, 'intakeComplete', { lua: COMPLETE });
    defineCommandOnce(redis, 'intakeMarkUncertain', { numberOfKeys: 5, lua: MARK_UNCERTAIN });
    defineCommandOnce(redis, 'intakeClaimNik', { numberOfKeys: 2, lua: CLAIM_NIK });
    defineCommandOnce(redis, 'intakeSettle', { lua: SETTLE });
    defineCommandOnce(redis, 'intakeHoldNik', { numberOfKeys: 2, lua: HOLD_NIK });
    defineCommandOnce(redis, 'intakeRelease', { lua: RELEASE });
    defineCommandOnce(redis, 'intakeReleaseNik', { numberOfKeys: 2, lua: RELEASE_NIK });
  }

  /** NIK holder (the matched registration), email, idem ('' when absent). */
  private keys(i: Pick<ClaimInput, 'nikIndex' | 'emailIndex' | 'idempotencyKeyHash'>): [string, string, string] {
    return [this.nikHolderKey(i.nikIndex), `${this.prefix}email:${i.emailIndex}`, i.idempotencyKeyHash ? `${this.prefix}idem:${i.idempotencyKeyHash}` : ''];
  }

  private nikHolderKey(nikIndex: string) {
    return `${this.prefix}nikheld:${nikIndex}`;
  }

  /** The NIK's pending registrations, scored by when each stops counting (ms). */
  private nikPendingKey(nikIndex: string) {
    return `${this.prefix}nikp:${nikIndex}`;
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
      buckets.length + 5,
      ...buckets.map((b) => b.key),
      ...this.keys(i),
      this.readyKey,
      this.nikPendingKey(i.nikIndex),
      ...bucketArgs(buckets),
      ...this.claimArgs(i),
    );
    if (kind === 'limited') return { admission };
    if (kind === 'cold') throw new ClaimsColdError(admission);
    return { admission, claim: this.claimResult(kind, detail) };
  }

  private claimArgs(i: ClaimInput): Array<string | number> {
    return [
      i.registrationId,
      i.bodyHash,
      i.submittedAt,
      this.ttls.pendingIdempotencySec,
      this.uncertainKey(''),
      this.ttls.pendingClaimSec,
      this.ttls.maxPendingPerNik,
    ];
  }

  private claimResult(kind: string, detail: string): ClaimResult {
    if (kind === 'ok') return { kind: 'claimed', registrationId: detail };
    if (kind === 'conflict') {
      const [reason, registrationId] = detail.split('|') as [ConflictReason, string];
      return { kind: 'conflict', reason, registrationId };
    }
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
        keys.push(...this.keys(i), this.uncertainKey(i.registrationId), `${this.prefix}accepted:${i.registrationId}`, this.nikPendingKey(i.nikIndex));
        args.push(
          ['done', i.bodyHash, i.registrationId, i.submittedAt].join('|'),
          this.idempotencyTtlSec,
          JSON.stringify({ submittedAt: i.submittedAt, emailMasked }),
          ACCEPTED_VIEW_TTL_SEC,
          i.registrationId,
          i.conflict ? 0 : this.ttls.pendingRegistrationSec,
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
    await this.redis.intakeMarkUncertain(
      ...this.keys(i),
      this.uncertainKey(i.registrationId),
      this.nikPendingKey(i.nikIndex),
      i.registrationId,
      UNCERTAIN_TTL_SEC,
    );
  }

  /** v2: NIKs held by the matched registration only (issue #13); a Redis holding v1 claims is rebuilt. */
  private get readyKey() {
    return `${this.prefix}claims:v2:complete`;
  }

  /**
   * Rebuilds the NIK and email claims from PostgreSQL (the truth) after Redis lost them, then marks
   * the set complete. One replica does it (a lock with a TTL); the others keep asking PostgreSQL
   * until the marker appears. Claims taken meanwhile are kept (SET NX never overwrites).
   */
  async rebuild(rows: AsyncIterable<Array<{ registrationId: string; nikIndex: string; emailIndex: string; matched: boolean }>>): Promise<number | undefined> {
    if (await this.redis.exists(this.readyKey)) return 0;
    const lock = `${this.prefix}claims:rebuilding`;
    if ((await this.redis.set(lock, '1', 'EX', 300, 'NX')) !== 'OK') return undefined;
    try {
      let restored = 0;
      for await (const batch of rows) {
        const tx = this.redis.pipeline();
        for (const r of batch) {
          tx.set(`${this.prefix}email:${r.emailIndex}`, r.registrationId, 'NX');
          if (r.matched) tx.set(this.nikHolderKey(r.nikIndex), r.registrationId, 'NX');
        }
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
      .set(`${this.prefix}email:${i.emailIndex}`, i.registrationId, 'NX')
      .zadd(this.nikPendingKey(i.nikIndex), Date.now() + this.ttls.pendingRegistrationSec * 1000, i.registrationId)
      .exec();
    // A pipeline resolves even when its commands failed: each answer carries its own error.
    const failed = results?.find(([err]) => err)?.[0];
    if (failed || !results) throw failed ?? new Error('Redis answered nothing');
  }

  /** The projector stored these registrations: their email claims become permanent, their NIK's pending entry lasts. */
  async settle(stored: ReadonlyArray<Pick<ClaimInput, 'nikIndex' | 'emailIndex' | 'registrationId'>>): Promise<void> {
    for (let from = 0; from < stored.length; from += COMPLETE_BATCH) {
      const batch = stored.slice(from, from + COMPLETE_BATCH);
      const keys = batch.flatMap((r) => [`${this.prefix}email:${r.emailIndex}`, this.nikPendingKey(r.nikIndex)]);
      await this.redis.intakeSettle(keys.length, ...keys, this.ttls.pendingRegistrationSec, ...batch.map((r) => r.registrationId));
    }
  }

  /** These registrations expired: their email is free again and they no longer count against their NIK. */
  async release(expired: ReadonlyArray<Pick<ClaimInput, 'nikIndex' | 'emailIndex' | 'registrationId'>>): Promise<void> {
    for (let from = 0; from < expired.length; from += COMPLETE_BATCH) {
      const batch = expired.slice(from, from + COMPLETE_BATCH);
      const keys = batch.flatMap((r) => [`${this.prefix}email:${r.emailIndex}`, this.nikPendingKey(r.nikIndex)]);
      await this.redis.intakeRelease(keys.length, ...keys, ...batch.map((r) => r.registrationId));
    }
  }

  /** The registry matched this registration: it holds the NIK. False if another one does already. */
  async holdNik(nikIndex: string, registrationId: string): Promise<boolean> {
    return (await this.redis.intakeHoldNik(this.nikHolderKey(nikIndex), this.nikPendingKey(nikIndex), registrationId)) === registrationId;
  }

  /** For a NIK correction: true unless another (matched) registration holds the NIK. */
  async claimNik(nikIndex: string, registrationId: string): Promise<boolean> {
    const held = await this.redis.intakeClaimNik(this.nikHolderKey(nikIndex), this.nikPendingKey(nikIndex), registrationId, this.ttls.pendingRegistrationSec);
    return held === registrationId;
  }

  /** Gives a NIK back (the typo after a correction, or a correction that lost in PostgreSQL). */
  async releaseNik(nikIndex: string, registrationId: string): Promise<void> {
    await this.redis.intakeReleaseNik(this.nikHolderKey(nikIndex), this.nikPendingKey(nikIndex), registrationId);
  }

  async accepted(registrationId: string): Promise<{ submittedAt: string; emailMasked: string } | undefined> {
    const v = await this.redis.get(`${this.prefix}accepted:${registrationId}`);
    return v ? JSON.parse(v) : undefined;
  }
}
