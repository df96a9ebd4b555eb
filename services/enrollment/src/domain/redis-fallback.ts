/**
 * What the enrollment service does without Redis: slower under a rush, never wrong. Full flags are off
 * (every attempt reads PostgreSQL, which decides every seat) and the per-batch admission bucket is per
 * process. Each decision taken without Redis is counted; the change is logged once each way.
 */
export class RedisFallback {
  private down = false;

  constructor(
    private readonly log: { warn(o: object, msg: string): void; info(msg: string): void },
    private readonly count: (use: string) => void,
  ) {}

  /** The handler for a Redis failure of one use (`full_flag`, `admission`). */
  failed(use: string): () => void {
    return () => {
      this.count(use);
      if (!this.down) this.log.warn({ use }, 'redis unavailable: full flags off, admission per process');
      this.down = true;
    };
  }

  /** The token bucket answers from Redis again. */
  back(): void {
    this.down = false;
    this.log.info('redis back: admission shared again');
  }
}
