import { randomUUID } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { DATABASE_URL, dropSchema, isolatedEnv, testTopic, waitFor, type TestTopic, type TopicTap } from '@gelombang/testkit';
// The built package, as testkit's producer is: one copy of EventProducer for OutboxRelay to take.
import { createKafka, createPool, enqueueEvents, EventProducer, migrate, OutboxRelay, PLATFORM_MIGRATIONS_DIR } from '@gelombang/platform';

const logger = pino({ level: 'silent' });

describe('transactional outbox (real PostgreSQL and Kafka)', () => {
  const schema = isolatedEnv('outbox').PG_SCHEMA;
  let t: TestTopic;
  let topic: string;
  let pool: pg.Pool;
  let producer: EventProducer;
  let tap: TopicTap;

  beforeAll(async () => {
    t = await testTopic('outbox', 3);
    ({ topic, producer, tap } = t);
    pool = createPool({ url: DATABASE_URL, schema, max: 5, applicationName: 'outbox-test' });
    expect(await migrate(pool, schema, [PLATFORM_MIGRATIONS_DIR])).toEqual(['0000_platform_outbox.sql']);
  });
  afterAll(async () => {
    await t.close();
    await pool.end();
    await dropSchema(schema);
  });

  const inTransaction = async (work: (c: pg.PoolClient) => Promise<void>, commit: boolean) => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await work(c);
      await c.query(commit ? 'COMMIT' : 'ROLLBACK');
    } finally {
      c.release();
    }
  };

  const drain = async (relays: OutboxRelay[], count: number) => {
    relays.forEach((r) => r.start());
    await tap.waitFor(topic, { count });
    await waitFor(async () => ((await relays[0]!.pending()) === 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all(relays.map((r) => r.stop()));
  };

  it('publishes what a committed transaction enqueued, in order per key, and nothing a rolled-back one did', async () => {
    const keys = Array.from({ length: 20 }, () => randomUUID());
    await inTransaction(
      (c) =>
        enqueueEvents(
          c,
          keys.map((key) => ({ topic, key, value: JSON.stringify({ key, n: 'rolled-back' }) })),
        ),
      false,
    );
    for (const n of [1, 2, 3]) {
      await inTransaction(
        (c) =>
          enqueueEvents(
            c,
            keys.map((key) => ({ topic, key, value: JSON.stringify({ key, n }) })),
          ),
        true,
      );
    }
    await drain([new OutboxRelay(pool, producer, { logger, batchSize: 7, idleMs: 20 })], 60);

    const seen = tap.events<{ key: string; n: number | string }>(topic);
    expect(seen).toHaveLength(60);
    expect(seen.some((e) => e.n === 'rolled-back')).toBe(false);
    for (const key of keys) expect(seen.filter((e) => e.key === key).map((e) => e.n)).toEqual([1, 2, 3]);
    expect(tap.messages[0]!.headers['content-type']).toBe('application/cloudevents+json');
  });

  it('with two relays on one table (two replicas), SKIP LOCKED gives each row to one of them: every event once', async () => {
    tap.messages.length = 0;
    const ids = Array.from({ length: 200 }, () => randomUUID());
    await inTransaction(
      (c) =>
        enqueueEvents(
          c,
          ids.map((key) => ({ topic, key, value: JSON.stringify({ key }) })),
        ),
      true,
    );
    await drain(
      [1, 2].map(() => new OutboxRelay(pool, producer, { logger, batchSize: 9, idleMs: 5 })),
      200,
    );
    expect(
      tap
        .events<{ key: string }>(topic)
        .map((e) => e.key)
        .sort(),
    ).toEqual([...ids].sort());
  });

  it('keeps the rows when Kafka does not acknowledge, and publishes them once it does', async () => {
    const unreachable = new EventProducer(createKafka({ brokers: ['127.0.0.1:1'], clientId: 'outbox-down', logger }), { ackTimeoutMs: 300 });
    const key = randomUUID();
    await inTransaction((c) => enqueueEvents(c, [{ topic, key, value: JSON.stringify({ key }) }]), true);
    const failing = new OutboxRelay(pool, unreachable, { logger });
    await expect(failing.publishOnce()).rejects.toThrow();
    expect(await failing.pending()).toBe(1);

    const relay = new OutboxRelay(pool, producer, { logger });
    expect(await relay.publishOnce()).toBe(1);
    expect(await relay.pending()).toBe(0);
    expect((await tap.waitFor(topic, { key }))[0]).toEqual({ key });
  });
});
