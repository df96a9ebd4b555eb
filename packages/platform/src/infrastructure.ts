import type pg from 'pg';
import type { Redis } from 'ioredis';
import type { BaseConfig } from './config';
import type { App } from './http';
import { createKafka, EventProducer, type Kafka } from './kafka';
import { OutboxRelay } from './outbox';
import { createPool, migrate, PLATFORM_MIGRATIONS_DIR } from './postgres';
import { createRedis, redisReady } from './redis';
import { scrapedGauge } from './metrics';

export type InfrastructureConfig = Pick<
  BaseConfig,
  'DATABASE_URL' | 'PG_POOL_MAX' | 'REDIS_URL' | 'REDIS_COMMAND_TIMEOUT_MS' | 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID' | 'KAFKA_ACK_TIMEOUT_MS' | 'KAFKA_LINGER_MS'
> & {
  PG_SCHEMA: string;
  /** Prefix of every topic the service writes (see EventProducer); only a service that also consumes prefixed topics offers it. */
  KAFKA_TOPIC_PREFIX?: string;
};

export interface Infrastructure {
  pool: pg.Pool;
  redis: Redis;
  kafka: Kafka;
  producer: EventProducer;
  /** Started: publishes what the service's transactions put in its outbox. */
  relay: OutboxRelay;
  /**
   * Shutdown in the one safe order: `workers` first, one after the other (consumers, senders —
   * whatever takes or produces work), then the relay (it publishes what committed), the producer
   * (flushed), Redis and PostgreSQL.
   */
  close(workers: ReadonlyArray<{ stop(): Promise<void> } | undefined>): Promise<void>;
}

/**
 * What every service opens at start: its PostgreSQL schema (migrated, with the platform's outbox
 * table), Redis, a Kafka producer (acks=all) and the outbox relay, with readiness checks for
 * PostgreSQL, Kafka and the relay. Redis is not a readiness dependency anywhere: without it a service
 * degrades (`whenRedisDown` says how, in the log), it does not stop.
 */
export async function connectInfrastructure(
  app: App,
  config: InfrastructureConfig,
  o: { service: string; migrationsDir: string; whenRedisDown: string; onPublished?: (count: number) => void },
): Promise<Infrastructure> {
  const pool = createPool({ url: config.DATABASE_URL, schema: config.PG_SCHEMA, max: config.PG_POOL_MAX, applicationName: o.service });
  const applied = await migrate(pool, config.PG_SCHEMA, [PLATFORM_MIGRATIONS_DIR, o.migrationsDir]);
  if (applied.length) app.log.info({ applied, schema: config.PG_SCHEMA }, 'migrations applied');
  app.readiness.add('postgres', async () => void (await pool.query('SELECT 1')));

  const redis = createRedis({ url: config.REDIS_URL, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, name: o.service });
  if (!(await redisReady(redis, 2_000))) app.log.warn(`redis not reachable at start: ${o.whenRedisDown}`);

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID ?? o.service, logger: app.log as any });
  const producer = new EventProducer(kafka, { ackTimeoutMs: config.KAFKA_ACK_TIMEOUT_MS, lingerMs: config.KAFKA_LINGER_MS, topicPrefix: config.KAFKA_TOPIC_PREFIX ?? '' });
  await producer.connect();
  scrapedGauge(app.metrics, 'kafka_produce_requests_total', 'Produce requests sent (each carries every event queued when it left; KAFKA_LINGER_MS widens that window)', () => [
    { value: producer.produceRequests },
  ]);
  app.readiness.add('kafka', async () => {
    if (!producer.isConnected) throw new Error('producer disconnected');
  });

  const relay = new OutboxRelay(pool, producer, { logger: app.log as any, ...(o.onPublished ? { onPublished: o.onPublished } : {}) });
  relay.start();
  app.readiness.add('outbox', async () => {
    if (!relay.isRunning) throw new Error('outbox relay stopped');
  });

  return {
    pool,
    redis,
    kafka,
    producer,
    relay,
    async close(workers) {
      for (const w of workers) await w?.stop().catch((e: Error) => app.log.error({ errName: e.name }, 'stopping a worker failed'));
      await relay.stop();
      await relay.publishOnce().catch(() => undefined);
      await producer.close();
      redis.disconnect();
      await pool.end();
    },
  };
}
