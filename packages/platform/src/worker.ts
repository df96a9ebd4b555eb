import type { FastifyBaseLogger } from 'fastify';
import { backoffMs } from './backoff';
import { stackFrames } from './errors';

/** Sleeps that `wakeAll()` cuts short: how a worker waits without missing new work. */
export class WakeableSleep {
  private readonly wakers = new Set<() => void>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  wakeAll(): void {
    for (const w of [...this.wakers]) w();
  }
}

/**
 * A background loop over a PostgreSQL queue (outbox relay, mail sender, registry checker): runs
 * `round()` again at once while it reports more work or was woken during it, pauses `idleMs` (or until
 * `wake()`) when not,
 * and backs off after a failed round (full jitter below 200 ms, doubling, at most 5 s) — never gives up
 * while running. `stop()` lets the current round finish, then runs `afterStop()`.
 */
export abstract class PollingWorker {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly sleeper = new WakeableSleep();
  /** A wake() that came while a round ran: the round may have looked before the new work committed. */
  private wokenDuringRound = false;
  protected readonly log: FastifyBaseLogger;

  protected constructor(
    logger: FastifyBaseLogger,
    component: string,
    private readonly idleMs: number,
  ) {
    this.log = logger.child({ component });
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** New work may be due: stop pausing now. */
  wake(): void {
    this.wokenDuringRound = true;
    this.sleeper.wakeAll();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await this.afterStop();
  }

  /** One round of work; resolves true when more may be waiting right away (no pause). */
  protected abstract round(): Promise<boolean>;

  /** Runs once the loop has ended (e.g. wait for calls still in flight). */
  protected async afterStop(): Promise<void> {}

  /** A pause that `wake()` and `stop()` cut short. */
  protected pause(ms: number): Promise<void> {
    return this.sleeper.sleep(ms);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let more: boolean;
      this.wokenDuringRound = false;
      try {
        more = await this.round();
        failures = 0;
      } catch (e) {
        failures++;
        this.log.error({ errName: (e as Error).name, stack: stackFrames(e), failures }, 'round failed, retrying');
        await this.pause(backoffMs(failures - 1, { baseMs: 200, maxMs: 5_000 }));
        continue;
      }
      if (!more && !this.wokenDuringRound && this.running) await this.pause(this.idleMs);
    }
  }
}
