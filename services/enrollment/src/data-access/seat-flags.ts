import type { Redis, Result } from 'ioredis';
import { defineCommandOnce } from '@gelombang/platform';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** MARK_FULL below: 1 when the flag was raised. */
    enrollmentMarkFull(fullKey: string, generationKey: string, seenGeneration: string, ttlSec: number): Result<number, Context>;
  }
}

/** A snapshot of a batch's flags: `generation` is null when Redis did not answer. */
export interface FlagState {
  full: boolean;
  generation: string | null;
}

/*
 * Sets the full flag only if no withdrawal happened since the caller read the generation. A
 * withdrawal commits, then bumps the generation and deletes the flag; so an enrollment that found
 * the batch full in PostgreSQL *before* that commit cannot re-raise the flag after the delete, while
 * one that read the generation after the bump also read PostgreSQL after the commit.
 */
const MARK_FULL = `
if (redis.call('GET', KEYS[2]) or '0') == ARGV[1] then
  redis.call('SET', KEYS[1], '1', 'EX', tonumber(ARGV[2]))
  return 1
end
return 0
`;

/**
 * "This batch is full", kept in Redis so that the rush after the last seat is answered without
 * touching the batch's row. PostgreSQL stays the truth: the flag only ever short-cuts a refusal the
 * database would give, it never admits anyone. Every call degrades to "not flagged" if Redis fails.
 */
export class SeatFlags {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSec: number,
    private readonly onRedisError: (err: Error) => void,
  ) {
    defineCommandOnce(redis, 'enrollmentMarkFull', { numberOfKeys: 2, lua: MARK_FULL });
  }

  // The hash tag keeps one batch's keys in one Redis Cluster slot (the script touches two).
  private key(batchId: string, what: 'full' | 'gen'): string {
    return `${this.prefix}enrollment:{${batchId}}:${what}`;
  }

  admissionKey(batchId: string): string {
    return `${this.prefix}enrollment:{${batchId}}:admit`;
  }

  async read(batchId: string): Promise<FlagState> {
    try {
      const [full, gen] = await this.redis.mget(this.key(batchId, 'full'), this.key(batchId, 'gen'));
      return { full: full === '1', generation: gen ?? '0' };
    } catch (e) {
      this.onRedisError(e as Error);
      return { full: false, generation: null };
    }
  }

  /** Raises the flag unless a withdrawal bumped the generation since `seen` was read. */
  async markFull(batchId: string, seen: FlagState): Promise<boolean> {
    if (seen.generation === null) return false;
    try {
      const set = await this.redis.enrollmentMarkFull(this.key(batchId, 'full'), this.key(batchId, 'gen'), seen.generation, this.ttlSec);
      return set === 1;
    } catch (e) {
      this.onRedisError(e as Error);
      return false;
    }
  }

  /** After a withdrawal committed: a seat is free again. If Redis fails, the flag lapses by its TTL. */
  async clear(batchId: string): Promise<void> {
    try {
      await this.redis.multi().incr(this.key(batchId, 'gen')).del(this.key(batchId, 'full')).exec();
    } catch (e) {
      this.onRedisError(e as Error);
    }
  }
}
