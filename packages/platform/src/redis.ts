import { Redis } from 'ioredis';

/**
 * A Redis client that fails fast instead of queueing while the server is away: callers (token
 * buckets, dedup fast paths) then fall back at once rather than hang.
 */
export function createRedis(opts: { url: string; commandTimeoutMs: number; name: string }): Redis {
  const client = new Redis(opts.url, {
    connectionName: opts.name,
    enableOfflineQueue: false,
    commandTimeout: opts.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    lazyConnect: false,
    // Keep retrying forever with a short cap: Redis coming back must be noticed quickly.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  });
  client.on('error', () => undefined);
  return client;
}

/** Waits for the first connection, up to `timeoutMs`; false if Redis did not answer (callers degrade). */
export function redisReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.once('ready', onReady);
  });
}
