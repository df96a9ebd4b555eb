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

  /** ioredis's copy would be a plain client without any deadline: make another with createRedis. */
  override duplicate(): Redis {
    throw new Error('DeadlineRedis cannot be duplicated: make another client with createRedis');
  }
}

function armDeadline(command: Command, ms: number): void {
  // ioredis's own (private) field: typed here through unknown, since the class declares it private.
  const c = command as unknown as { _commandTimeoutTimer?: NodeJS.Timeout };
  if (command.isResolved || c._commandTimeoutTimer) return;
  // Kept where ioredis keeps its own timer, so its reply handling clears it (Command._convertValue): an
  // answered command is not held for the rest of its deadline. (`isResolved` is set on resolve only: a
  // command rejected meanwhile, say by an error reply, lets the timer run; rejecting it again is a no-op.)
  c._commandTimeoutTimer = setTimeout(() => {
    if (command.isResolved) return;
    setImmediate(() => {
      if (!command.isResolved) command.reject(new Error(TIMED_OUT));
    });
  }, ms);
  c._commandTimeoutTimer.unref();
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
    // Off: an HTTP request's commands are issued from its own socket callback, so auto-pipelining
    // almost never batches two requests, yet builds an ioredis Pipeline (a copy of every script
    // method) per command. Measured in a spike: a third of the bytes the API promoted out of the
    // young generation per scavenge (decision 0014). Batching where it pays is explicit (completions).
    enableAutoPipelining: false,
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

/**
 * Registers a Lua script as a client method (ioredis `defineCommand`) unless this client has it already:
 * several stores may share one client. Declare the method on ioredis's `RedisCommander` to type calls.
 */
export function defineCommandOnce(client: Redis, name: string, definition: { lua: string; numberOfKeys?: number }): void {
  if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function') client.defineCommand(name, definition);
}
