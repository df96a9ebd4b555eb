import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedis, redisReady } from '../src/redis';
import { LocalBuckets, TokenBucket } from '../src/token-bucket';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('TokenBucket on the real Redis', () => {
  const prefix = `test:tb:${randomUUID()}:`;
  let redis: Redis;
  beforeAll(async () => {
    redis = createRedis({ url: REDIS_URL, commandTimeoutMs: 1_000, name: 'test' });
    expect(await redisReady(redis, 5_000)).toBe(true);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('admits exactly its burst, then refills at its rate', async () => {
    const bucket = new TokenBucket(redis);
    const spec = [{ key: `${prefix}burst`, capacity: 5, ratePerSec: 2 }];
    const first = await Promise.all(Array.from({ length: 8 }, () => bucket.take(spec)));
    expect(first.filter((d) => d.allowed)).toHaveLength(5);
    expect(first.every((d) => d.source === 'redis')).toBe(true);
    const denied = first.filter((d) => !d.allowed);
    expect(denied).toHaveLength(3);
    // One token every 500 ms at 2/s: a denied caller is told to come back within that.
    for (const d of denied) expect(d.retryAfterMs).toBeGreaterThan(0);
    for (const d of denied) expect(d.retryAfterMs).toBeLessThanOrEqual(500);

    await sleep(700); // ≈1.4 tokens
    const after = [await bucket.take(spec), await bucket.take(spec)];
    expect(after.map((d) => d.allowed)).toEqual([true, false]);
  });

  it('debits every bucket or none: a full global bucket does not spend the per-client one', async () => {
    const bucket = new TokenBucket(redis);
    const client = { key: `${prefix}client`, capacity: 3, ratePerSec: 0.001 };
    const global = { key: `${prefix}global`, capacity: 1, ratePerSec: 0.001 };
    expect((await bucket.take([client, global])).allowed).toBe(true);
    expect((await bucket.take([client, global])).allowed).toBe(false);
    const d = await bucket.take([client]);
    expect(d.allowed).toBe(true);
    expect(d.remaining).toBe(1); // 3 - 1 (first) - 1 (this); the denied call spent nothing
  });

  it('keeps separate keys apart', async () => {
    const bucket = new TokenBucket(redis);
    const a = [{ key: `${prefix}a`, capacity: 1, ratePerSec: 0.01 }];
    const b = [{ key: `${prefix}b`, capacity: 1, ratePerSec: 0.01 }];
    expect((await bucket.take(a)).allowed).toBe(true);
    expect((await bucket.take(a)).allowed).toBe(false);
    expect((await bucket.take(b)).allowed).toBe(true);
  });
});

describe('TokenBucket when Redis is unreachable', () => {
  it('falls back to in-process buckets at once, counts and reports it, and still enforces the burst', async () => {
    // Nothing listens on port 1: the client fails fast (no offline queue) instead of hanging.
    const dead = createRedis({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 100, name: 'dead' });
    const fallbacks: Error[] = [];
    const transitions: string[] = [];
    const bucket = new TokenBucket(dead, { onFallback: (e) => fallbacks.push(e), onSourceChange: (s) => transitions.push(s) });
    const spec = [{ key: 'x', capacity: 3, ratePerSec: 0.001 }];
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push(await bucket.take(spec));
    dead.disconnect();
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    expect(decisions.every((d) => d.source === 'local')).toBe(true);
    expect(fallbacks).toHaveLength(5);
    expect(transitions).toEqual(['local']);
  });
});

describe('LocalBuckets', () => {
  it('refills by elapsed time on an injected clock', () => {
    let now = 0;
    const local = new LocalBuckets(() => now);
    const spec = [{ key: 'k', capacity: 2, ratePerSec: 10 }];
    expect([local.take(spec).allowed, local.take(spec).allowed, local.take(spec).allowed]).toEqual([true, true, false]);
    expect(local.take(spec).retryAfterMs).toBe(100);
    now += 100;
    expect(local.take(spec).allowed).toBe(true);
    expect(local.take(spec).allowed).toBe(false);
    now += 10_000;
    expect(local.take(spec).remaining).toBe(1);
  });
});
