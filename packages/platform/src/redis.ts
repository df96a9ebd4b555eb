import { Command, Redis, type RedisOptions } from 'ioredis';

const TIMED_OUT = 'Command timed out';

/**
 * ioredis with a command deadline that a stalled event loop cannot trip.
 *
 * ioredis's own `commandTimeout` rejects from a timer callback. libuv runs expired timers *before* it
 * polls sockets, so after any stall longer than the timeout (a GC pause, a process waiting for a CPU on
 * a busy machine) the timer rejects a command whose answer has been sitting in the socket since
 * shortly after it was sent. Each such false timeout sends a caller to its fallback (the intake then
 * asks PostgreSQL and may spend a client's token twice) in exactly the moment the process is short of
 * time. Here the expired timer defers its verdict by one `setImmediate`: that runs after the same loop
 * iteration's poll phase has read whatever Redis already answered, so only a command Redis really has
 * not answered is rejected, with the same error ioredis gives.
 */
export class DeadlineRedis extends Redis {
  private readonly deadlineMs: number;

  constructor(url: string, options: RedisOptions & { deadlineMs: number }) {
    const { deadlineMs, ...rest } = options;
    super(url, { ...rest, commandTimeout: undefined });
    this.deadlineMs = deadlineMs;
  }

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    const sent = super.sendCommand(command, stream);
    armDeadline(command, this.deadlineMs);
    return sent;
  }
}

function armDeadline(command: Command, ms: number): void {
  if (command.isResolved) return;
  // As ioredis's own timer: not cleared when the answer comes, it then finds the command resolved.
  setTimeout(() => {
    if (command.isResolved) return;
    setImmediate(() => {
      if (!command.isResolved) command.reject(new Error(TIMED_OUT));
    });
  }, ms).unref();
}

/**
 * A Redis client that fails fast instead of queueing while the server is away: callers (token
 * buckets, dedup fast paths) then fall back at once rather than hang.
 */
export function createRedis(opts: { url: string; commandTimeoutMs: number; name: string }): Redis {
  const client = new DeadlineRedis(opts.url, {
    connectionName: opts.name,
    enableOfflineQueue: false,
    deadlineMs: opts.commandTimeoutMs,
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
