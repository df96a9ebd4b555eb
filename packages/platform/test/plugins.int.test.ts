import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { z } from 'zod';
import { defineEvent, eventBuilder } from '@gelombang/contracts';
import { dropSchema, isolatedEnv, TopicTap, until, waitFor } from '@gelombang/testkit';
// From the built package, as a service sees them: testkit brings the package's types in too, and the
// plugins' declarations of Fastify's decorators must come from one copy.
import {
  baseEnv,
  consumersPlugin,
  createKafka,
  createServer,
  createService,
  enqueueEvents,
  eventConsumer,
  kafkaPlugin,
  loadConfig,
  outboxPlugin,
  postgresPlugin,
  redisPlugin,
  workerPlugin,
  type App,
} from '@gelombang/platform';

const brokers = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');

describe('platform plugins on the real PostgreSQL, Redis and Kafka', () => {
  const env = isolatedEnv('plugins');
  const config = { ...loadConfig(z.object({ ...baseEnv }), env), PG_SCHEMA: env.PG_SCHEMA };
  const topic = `test.plugins-${randomUUID()}.v1`;
  const pinged = defineEvent(topic, 'id.gelombang.test.pinged.v1', z.object({ registrationId: z.uuid(), n: z.number().int() }));
  const events = eventBuilder('urn:gelombang:plugins-test');
  const admin = createKafka({ brokers, clientId: 'plugins-test', logger: pino({ level: 'silent' }) }).admin();
  const migrationsDir = mkdtempSync(join(tmpdir(), 'plugins-test-'));

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await dropSchema(env.PG_SCHEMA);
    rmSync(migrationsDir, { recursive: true, force: true });
  });

  it('close in the reverse of their order: consumers, then workers, the relay, the producer, Redis, PostgreSQL', async () => {
    const app = await createServer({ service: 'plugins-test', logLevel: 'silent', bodyLimit: 1024 });
    const closed: string[] = [];
    const record = <T extends object, K extends keyof T>(name: string, target: T, method: K) => {
      const original = (target[method] as (...a: unknown[]) => unknown).bind(target);
      (target as Record<K, unknown>)[method] = (...a: unknown[]) => {
        closed.push(name);
        return original(...a);
      };
    };

    await app.register(postgresPlugin, { config, migrationsDir });
    record('postgres', app.pg, 'end');
    await app.register(redisPlugin, { config, whenDown: 'the test fails' });
    record('redis', app.redis, 'disconnect');
    await app.register(kafkaPlugin, { config });
    record('producer', app.producer, 'close');
    // The consumer the plugin makes records its disconnect.
    (app.kafka as { consumer: unknown }).consumer = ((make) => (o: never) => {
      const c = make(o);
      record('consumer', c, 'disconnect');
      return c;
    })(app.kafka.consumer.bind(app.kafka));
    await app.register(outboxPlugin, {});
    record('relay', app.outbox, 'stop');

    // A worker whose last round, during close, still writes to PostgreSQL and Redis and enqueues an
    // event: it can do so only if they close after it, and the event reaches Kafka only if the relay
    // runs after it and the producer flushes after the relay.
    const registrationId = randomUUID();
    let running = false;
    await app.register(workerPlugin, {
      name: 'test-worker',
      worker: {
        start: () => void (running = true),
        get isRunning() {
          return running;
        },
        stop: async () => {
          closed.push('worker');
          running = false;
          await enqueueEvents(app.pg, [events.message(pinged, { registrationId, n: 1 })]);
          await app.redis.set(`${env.REDIS_KEY_PREFIX}last-round`, 'done', 'EX', 60);
        },
      },
      close: () => void closed.push('worker resources'),
    });
    const consumed: number[] = [];
    await app.register(consumersPlugin, {
      readiness: 'consumers',
      startAt: 'end',
      consumers: [eventConsumer(pinged, { group: `plugins-test-${randomUUID()}`, handle: async (e) => void consumed.push(...e.map((x) => x.data.n)) })],
    });
    await app.ready();

    const ready = await app.inject('/health/ready');
    expect([ready.statusCode, ready.json().checks]).toEqual([200, { postgres: 'ok', kafka: 'ok', outbox: 'ok', 'test-worker': 'ok', consumers: 'ok' }]);

    const tap = await new TopicTap([topic], brokers).start();
    try {
      await app.close();
      expect(closed).toEqual(['consumer', 'worker', 'worker resources', 'relay', 'producer', 'redis', 'postgres']);
      const [sent] = await tap.waitFor(topic, { key: registrationId });
      expect(sent).toMatchObject({
        type: 'id.gelombang.test.pinged.v1',
        subject: registrationId,
        source: 'urn:gelombang:plugins-test',
        data: { registrationId, n: 1 },
      });
      expect(tap.messages.find((m) => m.key === registrationId)?.headers['content-type']).toBe('application/cloudevents+json');
    } finally {
      await tap.stop();
    }
    // The consumer had stopped before the worker's event was published: it never saw it.
    expect(consumed).toEqual([]);
  });

  it('a consumer dead-letters what its contract refuses, and what `accept` refuses, and handles the rest', async () => {
    const app = await createServer({ service: 'plugins-test', logLevel: 'silent', bodyLimit: 1024 });
    await app.register(postgresPlugin, { config, migrationsDir });
    await app.register(redisPlugin, { config, whenDown: 'the test fails' });
    await app.register(kafkaPlugin, { config });
    const group = `plugins-test-${randomUUID()}`;
    const handled: number[] = [];
    let deadLettered = 0;
    await app.register(consumersPlugin, {
      readiness: 'consumers',
      startAt: 'end',
      consumers: [
        eventConsumer(pinged, {
          group,
          accept: (e) => {
            if (e.data.n < 0) throw new Error('negative pings are not ours');
          },
          handle: async (e) => void handled.push(...e.map((x) => x.data.n)),
          onDeadLettered: () => void deadLettered++,
        }),
      ],
    });
    await app.ready();
    const tap = await new TopicTap(['deadletter.v1'], brokers).start();
    try {
      const registrationId = randomUUID();
      await app.producer.publish(events.message(pinged, { registrationId, n: 7 }));
      await app.producer.publish(events.message(pinged, { registrationId, n: -1 }));
      await app.producer.publish({ topic, key: registrationId, value: '{"not":"a pinged event"}' });
      await waitFor(async () => (handled.length === 1 && deadLettered === 2 ? true : undefined), 30_000, 'one handled, two dead-lettered');
      const letters = (await tap.waitFor('deadletter.v1', { key: registrationId, count: 2 })).filter((d) => d.consumerGroup === group);
      expect(letters.map((d) => d.reason)).toEqual([expect.stringContaining('negative pings'), expect.any(String)]);
      expect(handled).toEqual([7]);
    } finally {
      await tap.stop();
      await app.close();
    }
  });

  it('a service whose start fails half-way closes what it had opened: relay, producer, Redis, the started consumer, PostgreSQL', async () => {
    const opened: { app?: App } = {};
    const failing = createService({ LOG_LEVEL: 'silent', HTTP_BODY_LIMIT_BYTES: 1024 }, { service: 'plugins-test' }, async (app) => {
      opened.app = app;
      await app.register(postgresPlugin, { config, migrationsDir });
      await app.register(redisPlugin, { config, whenDown: 'the test fails' });
      await app.register(kafkaPlugin, { config });
      await app.register(outboxPlugin, {});
      await app.register(consumersPlugin, {
        readiness: 'consumers',
        startAt: 'end',
        consumers: [
          eventConsumer(pinged, { group: `plugins-test-${randomUUID()}`, handle: async () => undefined }),
          // Its topic does not exist (topics are never created automatically): this one cannot start.
          eventConsumer({ ...pinged, topic: `test.missing-${randomUUID()}.v1` }, { group: `plugins-test-${randomUUID()}`, handle: async () => undefined }),
        ],
      });
    });
    await expect(failing).rejects.toThrow();
    const app = opened.app!;
    await until(() => app.redis.status === 'end', 5_000, 'the Redis connection closed'); // disconnect() closes the socket asynchronously
    expect({
      relay: app.outbox.isRunning,
      producer: app.producer.isConnected,
      redis: app.redis.status,
      postgres: (app.pg as unknown as { ended: boolean }).ended,
    }).toEqual({
      relay: false,
      producer: false,
      redis: 'end',
      postgres: true,
    });
  });

  it('refuses to build an event its contract does not allow, before anything is sent', () => {
    expect(() => events.message(pinged, { registrationId: 'not-a-uuid', n: 1 })).toThrow();
    expect(() => events.message(pinged, { registrationId: randomUUID(), n: 1.5 })).toThrow();
  });
});
