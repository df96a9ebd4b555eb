import { backoffMs, isRetryable, retryAfterMs } from '@gelombang/client';

describe('the client retry rules', () => {
  it('reads Retry-After as seconds or as an HTTP date, and nothing else', () => {
    const now = Date.parse('2026-12-04T10:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Fri, 04 Dec 2026 10:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Fri, 04 Dec 2026 09:59:00 GMT', now)).toBe(0);
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });

  it('waits the Retry-After plus a full-jitter draw from a window that doubles up to its cap', () => {
    const o = { baseMs: 250, capMs: 4000 };
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffMs(n, undefined, { ...o, random: () => 0.999999 }))).toEqual([249, 499, 999, 1999, 3999, 3999]);
    expect(backoffMs(3, undefined, { ...o, random: () => 0 })).toBe(0);
    expect(backoffMs(0, 2000, { ...o, random: () => 0 })).toBe(2000);
    expect(backoffMs(1, 2000, { ...o, random: () => 0.5 })).toBe(2250);
  });

  it('retries only what means the same when sent twice: idempotent methods, or a request with an Idempotency-Key', () => {
    const r = (method: string, headers: Record<string, string> = {}) => new Request('http://x.test/v1/a', { method, headers });
    expect(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'].map((m) => isRetryable(r(m)))).toEqual([true, true, true, true, true]);
    expect(isRetryable(r('POST'))).toBe(false);
    expect(isRetryable(r('PATCH'))).toBe(false);
    expect(isRetryable(r('POST', { 'idempotency-key': 'k1' }))).toBe(true);
  });
});
