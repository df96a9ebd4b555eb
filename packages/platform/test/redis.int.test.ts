import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedis, redisReady } from '../src/redis';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Keeps the event loop busy, as a GC pause or a process waiting for a CPU does. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    /* busy */
  }
}

/**
 * Sends a GET, lets the write go out (written at once by our clients; from a `setImmediate` that runs
 * before this one by the auto-pipelining stock client below), then stalls the loop past the deadline
 * while Redis answers.
 */
async function getThroughAStall(client: Redis, key: string, stallMs: number): Promise<string | null> {
  const answer = client.get(key);
  await new Promise<void>((r) => setImmediate(r));
  stall(stallMs);
  return answer;
}

describe('Redis command deadline (real Redis)', () => {
  const prefix = `test:deadline:${randomUUID()}:`;
  const opened: Redis[] = [];
  const open = async (client: Redis) => {
    opened.push(client);
    expect(await redisReady(client, 5_000)).toBe(true);
    return client;
  };
  afterAll(async () => {
    const [first] = opened;
    const keys = first ? await first.keys(`${prefix}*`) : [];
    if (first && keys.length) await first.del(...keys);
    await Promise.all(opened.map((c) => c.quit().catch(() => undefined)));
  });

  it('delivers an answer that arrived while the event loop was stalled past the deadline', async () => {
    const client = await open(createRedis({ url: REDIS_URL, commandTimeoutMs: 50, name: 'test-deadline' }));
    await client.set(`${prefix}k`, 'v');
    await expect(getThroughAStall(client, `${prefix}k`, 300)).resolves.toBe('v');
  });

  it("(why: ioredis's own commandTimeout calls the same answer a timeout)", async () => {
    const stock = await open(new Redis(REDIS_URL, { commandTimeout: 50, maxRetriesPerRequest: 0 }));
    await stock.set(`${prefix}k2`, 'v');
    await expect(getThroughAStall(stock, `${prefix}k2`, 300)).rejects.toThrow('Command timed out');
  });

  it('gives scripts (defineCommand) the same deadline, and refuses to be duplicated without one', async () => {
    const client = await open(createRedis({ url: REDIS_URL, commandTimeoutMs: 50, name: 'test-deadline' }));
    client.defineCommand('testEchoKey', { numberOfKeys: 1, lua: "return redis.call('GET', KEYS[1])" });
    await client.set(`${prefix}s`, 'scripted');
    const answer = (client as unknown as { testEchoKey(key: string): Promise<string | null> }).testEchoKey(`${prefix}s`);
    await new Promise<void>((r) => setImmediate(r));
    stall(300);
    await expect(answer).resolves.toBe('scripted');
    expect(() => client.duplicate()).toThrow(/createRedis/);
  });

  it('still rejects a command Redis does not answer, once its deadline has passed', async () => {
    const client = await open(createRedis({ url: REDIS_URL, commandTimeoutMs: 100, name: 'test-deadline' }));
    // BLPOP on an empty key holds this connection (only this one) for 1 s: a Redis that does not answer.
    const started = Date.now();
    await expect(client.blpop(`${prefix}empty`, 1)).rejects.toThrow('Command timed out');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(95);
    expect(waited).toBeLessThan(1_000);
    // The connection is usable again once Redis answers it.
    await new Promise((r) => setTimeout(r, 1_100));
    await expect(client.ping()).resolves.toBe('PONG');
  });
});
