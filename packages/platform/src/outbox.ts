import type pg from 'pg';
import type { Logger } from 'pino';
import { stackFrames } from './errors';
import type { EventProducer, OutgoingMessage } from './kafka';

/** A pool or a client inside the caller's transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/**
 * Writes events to the outbox table (migration `0000_platform_outbox.sql`). Call it inside the
 * transaction that changes the state the events announce: both commit, or neither does. The relay
 * publishes them afterwards, at least once.
 */
export async function enqueueEvents(db: Queryable, messages: readonly Omit<OutgoingMessage, 'headers'>[]): Promise<void> {
  if (messages.length === 0) return;
  await db.query(
    `INSERT INTO outbox (topic, key, value)
     SELECT topic, key, value FROM jsonb_to_recordset($1::jsonb) AS x(topic text, key text, value text)`,
    [JSON.stringify(messages.map((m) => ({ topic: m.topic, key: m.key, value: m.value })))],
  );
}

export interface OutboxRelayOptions {
  logger: Logger;
  /** Rows locked and published per round. */
  batchSize?: number;
  /** Poll interval when the outbox is empty; `wake()` cuts it short. */
  idleMs?: number;
  onPublished?: (count: number) => void;
}

/**
 * Moves outbox rows to Kafka: locks the oldest rows (SKIP LOCKED, so several replicas share the work),
 * publishes them with acks=all, deletes them, commits. A crash between publish and commit publishes
 * those rows again: consumers dedupe by event id, as with every at-least-once topic here.
 */
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly batchSize: number;
  private readonly idleMs: number;
  private readonly log: Logger;

  constructor(
    private readonly pool: pg.Pool,
    private readonly producer: EventProducer,
    private readonly opts: OutboxRelayOptions,
  ) {
    this.batchSize = opts.batchSize ?? 500;
    this.idleMs = opts.idleMs ?? 50;
    this.log = opts.logger.child({ component: 'outbox-relay' });
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Publish soon: call after committing a transaction that enqueued events. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stops after the current round; rows not yet published stay in the table for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  /** Rows waiting to be published (a gauge for metrics and tests). */
  async pending(): Promise<number> {
    const r = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox');
    return Number(r.rows[0]!.n);
  }

  /** One round: publishes up to batchSize rows; returns how many. */
  async publishOnce(): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const rows = (
        await client.query<{ id: string; topic: string; key: string; value: string }>(
          'SELECT id, topic, key, value FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED',
          [this.batchSize],
        )
      ).rows;
      if (rows.length > 0) {
        // One event-loop turn: the producer coalesces these into one request, in id order per partition.
        await Promise.all(
          rows.map((r) => this.producer.publish({ topic: r.topic, key: r.key, value: r.value, headers: { 'content-type': 'application/cloudevents+json' } })),
        );
        await client.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      }
      await client.query('COMMIT');
      if (rows.length > 0) this.opts.onPublished?.(rows.length);
      return rows.length;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let published = 0;
      try {
        published = await this.publishOnce();
        failures = 0;
      } catch (e) {
        failures++;
        this.log.error({ errName: (e as Error).name, stack: stackFrames(e), failures }, 'outbox round failed, retrying');
        await this.pause(Math.min(100 * 2 ** failures, 5_000));
        continue;
      }
      if (published < this.batchSize) await this.pause(this.idleMs);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
