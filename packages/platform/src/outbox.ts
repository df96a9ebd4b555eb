import type pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import { CLOUDEVENTS_CONTENT_TYPE } from '@gelombang/contracts';
import type { EventProducer } from './kafka';
import { inTransaction } from './postgres';
import { PollingWorker } from './worker';

/** A pool or a client inside the caller's transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** An event for the outbox: every one has a key (the relay adds the CloudEvents content-type header). */
export interface OutboxMessage {
  topic: string;
  key: string;
  value: string;
}

/**
 * Writes events to the outbox table (migration `0000_platform_outbox.sql`). Call it inside the
 * transaction that changes the state the events announce: both commit, or neither does. The relay
 * publishes them afterwards, at least once.
 */
export async function enqueueEvents(db: Queryable, messages: readonly OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await db.query(
    `INSERT INTO outbox (topic, key, value)
     SELECT topic, key, value FROM jsonb_to_recordset($1::jsonb) AS x(topic text, key text, value text)`,
    [JSON.stringify(messages.map((m) => ({ topic: m.topic, key: m.key, value: m.value })))],
  );
}

export interface OutboxRelayOptions {
  logger: FastifyBaseLogger;
  /** Rows locked and published per round. */
  batchSize?: number;
  /**
   * Poll interval when the outbox is empty (default 1 s). Every process wakes its relay after a commit
   * that enqueued events, so polling only picks up rows another replica left (it crashed, or stopped).
   */
  idleMs?: number;
  onPublished?: (count: number) => void;
}

/**
 * Moves outbox rows to Kafka: locks the oldest rows (SKIP LOCKED, so several replicas share the work),
 * publishes them with acks=all, deletes them, commits. A crash between publish and commit publishes
 * those rows again: consumers dedupe by event id, as with every at-least-once topic here. `wake()`
 * after committing a transaction that enqueued events publishes them without waiting for the poll.
 */
export class OutboxRelay extends PollingWorker {
  private readonly batchSize: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly producer: EventProducer,
    private readonly opts: OutboxRelayOptions,
  ) {
    super(opts.logger, 'outbox-relay', opts.idleMs ?? 1_000);
    this.batchSize = opts.batchSize ?? 500;
  }

  /** Rows waiting to be published (a gauge for metrics and tests). */
  async pending(): Promise<number> {
    const r = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox');
    return Number(r.rows[0]!.n);
  }

  /** One round: publishes up to batchSize rows; returns how many. */
  async publishOnce(): Promise<number> {
    const published = await inTransaction(this.pool, async (client) => {
      const rows = (
        await client.query<{ id: string; topic: string; key: string; value: string }>(
          'SELECT id, topic, key, value FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED',
          [this.batchSize],
        )
      ).rows;
      if (rows.length > 0) {
        // One event-loop turn: the producer coalesces these into one request, in id order per partition.
        await Promise.all(
          rows.map((r) => this.producer.publish({ topic: r.topic, key: r.key, value: r.value, headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE } })),
        );
        await client.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      }
      return rows.length;
    });
    if (published > 0) this.opts.onPublished?.(published);
    return published;
  }

  protected async round(): Promise<boolean> {
    return (await this.publishOnce()) === this.batchSize;
  }
}
