import CircuitBreaker from 'opossum';
import { Pool } from 'undici';
import { z } from 'zod';

export type RegistryResult = 'MATCH' | 'NOT_FOUND' | 'DATA_MISMATCH' | 'INACTIVE';

/** Why a call did not produce an answer. None of them says anything about the person. */
export type FailureKind = 'quota_exceeded' | 'unavailable' | 'timeout' | 'client_error' | 'bad_answer' | 'breaker_open';

export class RegistryCallError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly status?: number,
  ) {
    super(`registry call failed: ${kind}${status ? ` (HTTP ${status})` : ''}`);
    this.name = 'RegistryCallError';
  }
}

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface RegistryClientOptions {
  url: string;
  token: string;
  timeoutMs: number;
  connections: number;
  breaker: { errorThresholdPercentage: number; volumeThreshold: number; rollingCountTimeout: number; resetTimeout: number };
}

const answer = z.object({ result: z.enum(['MATCH', 'NOT_FOUND', 'DATA_MISMATCH', 'INACTIVE']) });

/**
 * The population registry's verify call over a keep-alive undici Pool, behind an opossum circuit
 * breaker. Timeouts, 5xx and connection errors count against the breaker; a 429 or another 4xx is the
 * registry answering (it is up), so it does not. While open, no call leaves; after `resetTimeout` one
 * probe goes out (half-open) and its outcome closes or reopens the breaker.
 */
export class RegistryClient {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly breaker: CircuitBreaker<[{ nik: string; fullName: string; birthDate: string }, string], RegistryResult>;
  private readonly listeners: Array<(state: BreakerState) => void> = [];

  constructor(private readonly opts: RegistryClientOptions) {
    const url = new URL(opts.url);
    this.path = `${url.pathname.replace(/\/$/, '')}/v1/population/verify`;
    this.pool = new Pool(url.origin, {
      connections: opts.connections,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      keepAliveTimeout: 30_000,
    });
    this.breaker = new CircuitBreaker((person, callId) => this.call(person, callId), {
      name: 'population-registry',
      timeout: opts.timeoutMs,
      errorThresholdPercentage: opts.breaker.errorThresholdPercentage,
      volumeThreshold: opts.breaker.volumeThreshold,
      rollingCountTimeout: opts.breaker.rollingCountTimeout,
      resetTimeout: opts.breaker.resetTimeout,
      errorFilter: (e: unknown) => e instanceof RegistryCallError && (e.kind === 'quota_exceeded' || e.kind === 'client_error'),
    });
    this.breaker.on('open', () => this.changed('open'));
    this.breaker.on('halfOpen', () => this.changed('half_open'));
    this.breaker.on('close', () => this.changed('closed'));
  }

  /** Calls `listener` on every breaker transition (the checker follows them; so does /metrics). */
  onStateChange(listener: (state: BreakerState) => void): void {
    this.listeners.push(listener);
  }

  get state(): BreakerState {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'half_open' : 'closed';
  }

  /** Whether a call would leave now: closed, or half-open with its one probe not yet sent. */
  get canCall(): boolean {
    return this.breaker.closed || this.breaker.pendingClose;
  }

  /** `callId` is the check's idempotency key (decision 0024): the same for every call made for one check. */
  async verify(person: { nik: string; fullName: string; birthDate: string }, callId: string): Promise<RegistryResult> {
    try {
      return await this.breaker.fire(person, callId);
    } catch (e) {
      if (e instanceof RegistryCallError) throw e;
      const code = (e as { code?: string }).code;
      if (code === 'EOPENBREAKER') throw new RegistryCallError('breaker_open');
      if (code === 'ETIMEDOUT') throw new RegistryCallError('timeout');
      throw new RegistryCallError('unavailable');
    }
  }

  async close(): Promise<void> {
    this.breaker.shutdown();
    await this.pool.close();
  }

  private changed(state: BreakerState): void {
    for (const l of this.listeners) l(state);
  }

  private async call(person: { nik: string; fullName: string; birthDate: string }, callId: string): Promise<RegistryResult> {
    let res;
    try {
      res = await this.pool.request({
        method: 'POST',
        path: this.path,
        headers: { authorization: `Bearer ${this.opts.token}`, 'content-type': 'application/json', 'idempotency-key': callId },
        body: JSON.stringify(person),
        // The breaker's own timeout only stops waiting; this also frees the connection.
        signal: AbortSignal.timeout(this.opts.timeoutMs + 50),
      });
    } catch (e) {
      const name = (e as Error).name;
      throw new RegistryCallError(name === 'TimeoutError' || name === 'HeadersTimeoutError' || name === 'BodyTimeoutError' ? 'timeout' : 'unavailable');
    }
    const text = await res.body.text().catch(() => '');
    if (res.statusCode === 200) {
      try {
        return answer.parse(JSON.parse(text)).result;
      } catch {
        throw new RegistryCallError('bad_answer', 200);
      }
    }
    if (res.statusCode === 429) throw new RegistryCallError('quota_exceeded', 429);
    if (res.statusCode >= 500) throw new RegistryCallError('unavailable', res.statusCode);
    throw new RegistryCallError('client_error', res.statusCode);
  }
}
