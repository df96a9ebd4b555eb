/**
 * Retries of one request, inside the fetch that openapi-fetch calls: the Request it is given already
 * carries its Idempotency-Key (set once by the client's middleware), so every try sends the same key.
 * Written here rather than taken from @gelombang/platform's back-off: this module runs in the browser.
 */
export interface RetryOptions {
  /** Tries after the first (0: never retry). */
  retries: number;
  /** Full-jitter window of the first retry; doubles per retry up to `capMs`. */
  baseMs: number;
  capMs: number;
  /** A 429/503 whose Retry-After asks for longer than this is answered to the caller, not waited for. */
  maxRetryAfterMs: number;
  /** [0, 1): Math.random unless a test fixes it. */
  random: () => number;
  sleep: (ms: number, signal?: AbortSignal | null) => Promise<void>;
}

export const DEFAULT_RETRY: RetryOptions = {
  retries: 3,
  baseMs: 250,
  capMs: 4_000,
  maxRetryAfterMs: 10_000,
  random: Math.random,
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason as Error)), { once: true });
    }),
};

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** Only a request that means the same when sent twice: an idempotent method, or one with an Idempotency-Key. */
export const isRetryable = (req: Request): boolean => IDEMPOTENT_METHODS.has(req.method) || req.headers.has('idempotency-key');

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The wait before retry number `attempt` (0-based): never sooner than the server's Retry-After, plus
 * "full jitter" (a uniform draw from [0, min(cap, base·2^attempt))), so a crowd refused in the same
 * second does not come back in the same millisecond.
 */
export function backoffMs(attempt: number, retryAfter: number | undefined, o: Pick<RetryOptions, 'baseMs' | 'capMs' | 'random'>): number {
  const window = Math.min(o.capMs, o.baseMs * 2 ** attempt);
  return (retryAfter ?? 0) + Math.floor(o.random() * window);
}

/** A fetch that retries 429, 503 and network errors of retryable requests, as RetryOptions say. */
export function retryingFetch(inner: (req: Request) => Promise<Response>, o: RetryOptions): (req: Request) => Promise<Response> {
  return async (req) => {
    const retryable = isRetryable(req);
    for (let attempt = 0; ; attempt++) {
      const last = !retryable || attempt >= o.retries;
      let res: Response;
      try {
        // A clone per try: the original's body stays unread for the next one.
        res = await inner(last ? req : req.clone());
      } catch (e) {
        if (last || req.signal?.aborted) throw e;
        await o.sleep(backoffMs(attempt, undefined, o), req.signal);
        continue;
      }
      if (last || (res.status !== 429 && res.status !== 503)) return res;
      const wait = retryAfterMs(res.headers.get('retry-after'));
      if (wait !== undefined && wait > o.maxRetryAfterMs) return res;
      await res.body?.cancel();
      await o.sleep(backoffMs(attempt, wait, o), req.signal);
    }
  };
}
