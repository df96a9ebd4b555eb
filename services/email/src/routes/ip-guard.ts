import type { FastifyRequest } from 'fastify';
import { RATE_LIMITED, type BucketSpec, type TokenBucket } from '@gelombang/platform';

/**
 * An `onRequest` hook: one token per request from the client IP's bucket, else 429 RATE_LIMITED with
 * Retry-After (before the body is read). The brute-force guard in front of the per-registration and
 * per-address limits.
 */
export const ipGuard =
  (bucket: TokenBucket, spec: (ip: string) => BucketSpec, onLimited: () => void) =>
  async (req: FastifyRequest): Promise<void> => {
    const d = await bucket.take([spec(req.ip)]);
    if (d.allowed) return;
    onLimited();
    throw RATE_LIMITED({ headers: { 'retry-after': String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))) } });
  };
