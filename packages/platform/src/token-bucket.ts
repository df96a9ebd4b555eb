import type { Redis, Result } from 'ioredis';
import { defineCommandOnce } from './redis';
import { bucketDecided } from './metrics';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** SCRIPT below: the number of buckets, their keys, then bucketArgs(). */
    tokenBucket(numKeys: number, ...keysAndArgs: Array<string | number>): Result<number[], Context>;
  }
}

export interface BucketSpec {
  /** Full Redis key, prefix included. */
  key: string;
  /** Burst: how many tokens the bucket holds when full. */
  capacity: number;
  /** Refill, tokens per second. */
  ratePerSec: number;
}

export interface Decision {
  allowed: boolean;
  /** Whole tokens left in the tightest bucket after this decision. */
  remaining: number;
  /** When denied: ms until enough tokens exist. 0 when allowed. */
  retryAfterMs: number;
  /** Ms until the tightest bucket is full again. */
  resetMs: number;
  /** Where the decision was taken. */
  source: 'redis' | 'local';
}

/*
 * All buckets are read, refilled by elapsed time, and only if every one has `cost` tokens are they all
 * debited: atomic, one round trip. Time comes from the Redis server so several instances agree. Tokens
 * are kept fractional; results are whole numbers (Redis truncates Lua numbers).
 *
 * A Lua function so that other scripts can decide admission in the same call as their own work (the
 * intake admits and claims a registration in one round trip): KEYS[k+1..k+n] are the buckets,
 * ARGV[a] the cost and ARGV[a+2i-1], ARGV[a+2i] bucket i's capacity and rate per second.
 */
export const TAKE_BUCKETS_LUA = `
local function take_buckets(k, n, a)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local cost = tonumber(ARGV[a])
  local tokens = {}
  local allowed = 1
  local retry = 0
  for i = 1, n do
    local cap = tonumber(ARGV[a + 2 * i - 1])
    local rate = tonumber(ARGV[a + 2 * i])
    local v = redis.call('HMGET', KEYS[k + i], 't', 'ts')
    local tk = tonumber(v[1])
    local ts = tonumber(v[2])
    if tk == nil or ts == nil then tk = cap ts = now end
    if now > ts then tk = math.min(cap, tk + (now - ts) * rate / 1000) end
    tokens[i] = tk
    if tk < cost then
      allowed = 0
      local w = math.ceil((cost - tk) * 1000 / rate)
      if w > retry then retry = w end
    end
  end
  local remaining = -1
  local reset = 0
  for i = 1, n do
    local cap = tonumber(ARGV[a + 2 * i - 1])
    local rate = tonumber(ARGV[a + 2 * i])
    local tk = tokens[i]
    if allowed == 1 then tk = tk - cost end
    redis.call('HSET', KEYS[k + i], 't', tostring(tk), 'ts', now)
    redis.call('PEXPIRE', KEYS[k + i], math.ceil(cap * 1000 / rate) + 1000)
    local whole = math.floor(tk)
    if remaining < 0 or whole < remaining then remaining = whole end
    local r = math.ceil((cap - tk) * 1000 / rate)
    if r > reset then reset = r end
  end
  if allowed == 1 then retry = 0 end
  return {allowed, remaining, retry, reset}
end
`;

const SCRIPT = `${TAKE_BUCKETS_LUA}
return take_buckets(0, #KEYS, 1)
`;

/** ARGV for `take_buckets` (cost, then capacity and rate of each bucket), after checking the specs. */
export function bucketArgs(specs: readonly BucketSpec[], cost = 1): number[] {
  const args = [cost];
  for (const s of specs) {
    if (!(s.capacity > 0) || !(s.ratePerSec > 0)) throw new Error(`bucket ${s.key} needs capacity and rate > 0`);
    args.push(s.capacity, s.ratePerSec);
  }
  return args;
}

interface LocalState {
  tokens: number;
  ts: number;
}

/** The same algorithm in process memory: used while Redis cannot answer. */
export class LocalBuckets {
  private readonly state = new Map<string, LocalState>();
  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  take(specs: readonly BucketSpec[], cost = 1): Decision {
    const now = this.now();
    const current = specs.map((s) => {
      const st = this.state.get(s.key) ?? { tokens: s.capacity, ts: now };
      return Math.min(s.capacity, st.tokens + (Math.max(0, now - st.ts) * s.ratePerSec) / 1000);
    });
    let retry = 0;
    specs.forEach((s, i) => {
      if (current[i]! < cost) retry = Math.max(retry, Math.ceil(((cost - current[i]!) * 1000) / s.ratePerSec));
    });
    const allowed = retry === 0;
    let remaining = Infinity;
    let reset = 0;
    specs.forEach((s, i) => {
      const tokens = allowed ? current[i]! - cost : current[i]!;
      if (this.state.size >= this.maxKeys && !this.state.has(s.key)) this.evictOldest();
      this.state.set(s.key, { tokens, ts: now });
      remaining = Math.min(remaining, Math.floor(tokens));
      reset = Math.max(reset, Math.ceil(((s.capacity - tokens) * 1000) / s.ratePerSec));
    });
    return { allowed, remaining: remaining === Infinity ? 0 : remaining, retryAfterMs: retry, resetMs: reset, source: 'local' };
  }

  private evictOldest() {
    const first = this.state.keys().next();
    if (!first.done) this.state.delete(first.value);
  }
}

export interface TokenBucketEvents {
  /** Called on every decision taken locally because Redis failed (count it). */
  onFallback?: (err: Error) => void;
  /** Called when the source changes, to log the transition once rather than per request. */
  onSourceChange?: (source: 'redis' | 'local', err?: Error) => void;
}

/**
 * Token buckets in Redis, one EVALSHA per decision, falling back to `LocalBuckets` when Redis is
 * unreachable or slow (the client's command timeout bounds the wait). Local buckets are per process,
 * so during an outage the effective limit is per instance: a documented trade-off, not a bug.
 */
export class TokenBucket {
  private readonly local: LocalBuckets;
  private source: 'redis' | 'local' = 'redis';

  constructor(
    private readonly redis: Redis,
    private readonly events: TokenBucketEvents = {},
    now?: () => number,
  ) {
    this.local = new LocalBuckets(now);
    defineCommandOnce(redis, 'tokenBucket', { lua: SCRIPT });
  }

  async take(specs: readonly BucketSpec[], cost = 1): Promise<Decision> {
    const args = bucketArgs(specs, cost);
    try {
      const answer = await this.redis.tokenBucket(specs.length, ...specs.map((s) => s.key), ...args);
      return this.fromRedis(answer, specs);
    } catch (err) {
      return this.locally(specs, err as Error, cost);
    }
  }

  /**
   * A decision `take_buckets` returned inside another script: {allowed, remaining, retry, reset}; with
   * the `specs` it was taken from, it is counted in the buckets' metrics.
   */
  fromRedis([allowed, remaining, retry, reset]: readonly number[], specs?: readonly BucketSpec[]): Decision {
    this.setSource('redis');
    if (specs) bucketDecided(specs, allowed === 1, 'redis');
    return { allowed: allowed === 1, remaining: remaining!, retryAfterMs: retry!, resetMs: reset!, source: 'redis' };
  }

  /** Redis failed (`err`), here or inside another script: decide in process memory, and say so. */
  locally(specs: readonly BucketSpec[], err: Error, cost = 1): Decision {
    this.setSource('local', err);
    this.events.onFallback?.(err);
    const d = this.local.take(specs, cost);
    bucketDecided(specs, d.allowed, 'local');
    return d;
  }

  private setSource(source: 'redis' | 'local', err?: Error) {
    if (source === this.source) return;
    this.source = source;
    this.events.onSourceChange?.(source, err);
  }
}
