import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { TokenBucket, type BucketSpec } from '@gelombang/platform';

export type QuotaWait = 'bucket_empty' | 'redis_unavailable';

/** Wait used while Redis cannot answer: no shared bucket, so no call (see acquire). */
const REDIS_DOWN_WAIT_MS = 1_000;

/**
 * Our share of the partner's quota: one token from the Redis bucket `<prefix>nik:registry` per call, the
 * bucket shared by every replica. When Redis cannot answer, TokenBucket would decide from a bucket in
 * this process — per replica, so N replicas could spend N shares. The quota must never be exceeded,
 * so such a decision is treated as "no token": checks wait in the queue until Redis is back.
 */
export class RegistryQuota {
  private readonly bucket: TokenBucket;

  constructor(
    redis: Redis,
    private readonly spec: BucketSpec,
    private readonly o: { log: FastifyBaseLogger; onWait: (reason: QuotaWait, ms: number) => void },
  ) {
    this.bucket = new TokenBucket(redis, {
      onSourceChange: (source) =>
        source === 'local'
          ? o.log.warn('redis unavailable: registry calls paused (the quota is shared through redis)')
          : o.log.info('redis back: registry calls resume'),
    });
  }

  /** Resolves true once a token is taken, or false if `running()` turned false while waiting. */
  async acquire(running: () => boolean, sleep: (ms: number) => Promise<void>): Promise<boolean> {
    while (running()) {
      const d = await this.bucket.take([this.spec]);
      if (d.allowed && d.source === 'redis') return true;
      const reason: QuotaWait = d.source === 'redis' ? 'bucket_empty' : 'redis_unavailable';
      const ms = reason === 'bucket_empty' ? Math.max(1, d.retryAfterMs) : REDIS_DOWN_WAIT_MS;
      this.o.onWait(reason, ms);
      await sleep(ms);
    }
    return false;
  }
}
