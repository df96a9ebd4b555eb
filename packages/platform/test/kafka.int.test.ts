import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { until } from '@gelombang/testkit';
import { makeEvent, registrationStatusChangedV1, type RegistrationStatusChangedV1 } from '@gelombang/contracts';
import { createKafka, EventProducer, startConsumer, type ConsumedMessage, type RunningConsumer } from '../src/kafka';

const brokers = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
const logger = pino({ level: 'silent' });

describe('EventProducer and startConsumer on the real broker', () => {
  const kafka = createKafka({ brokers, clientId: 'platform-test', logger });
  const topic = `test.platform-${randomUUID()}.v1`;
  const admin = kafka.admin();
  let producer: EventProducer;
  let consumer: RunningConsumer | undefined;

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    producer = new EventProducer(kafka, { ackTimeoutMs: 10_000 });
    await producer.connect();
  });
  afterAll(async () => {
    await consumer?.stop();
    await producer.close();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('delivers CloudEvents intact, keyed by registration id, and dead-letters poison messages', async () => {
    const events = Array.from({ length: 50 }, () => {
      const registrationId = randomUUID();
      return makeEvent('id.gelombang.registration.status-changed.v1', 'urn:gelombang:test', registrationId, {
        registrationId,
        status: 'email_verified' as const,
        changedAt: new Date().toISOString(),
      });
    });
    // 50 concurrent awaited publishes: coalesced into few produce requests, each acknowledged.
    await Promise.all(events.map((e) => producer.publish({ topic, key: e.subject, value: JSON.stringify(e) })));
    await producer.publish({ topic, key: 'poison', value: '{"not":"an event"' });

    const received: Array<{ event: RegistrationStatusChangedV1; key: string | null }> = [];
    const dead: Array<{ msg: ConsumedMessage; reason: string }> = [];
    consumer = await startConsumer(kafka, {
      groupId: `test-${randomUUID()}`,
      topics: [topic],
      logger,
      parse: (m) => ({ event: registrationStatusChangedV1.parse(JSON.parse(m.value)), key: m.key }),
      handle: async (items) => void received.push(...items),
      deadLetter: async (msg, reason) => void dead.push({ msg, reason }),
    });
    await until(() => received.length >= 50 && dead.length >= 1);

    expect(received).toHaveLength(50);
    const byId = new Map(received.map((r) => [r.event.id, r]));
    for (const e of events) {
      expect(byId.get(e.id)?.event).toEqual(e);
      expect(byId.get(e.id)?.key).toBe(e.data.registrationId);
    }
    expect(dead).toHaveLength(1);
    expect(dead[0]!.msg.key).toBe('poison');
  });

  it('with a linger, publishes spread over the window share one produce request; close() sends a lingering batch at once', async () => {
    const lingering = new EventProducer(kafka, { ackTimeoutMs: 10_000, lingerMs: 500 });
    await lingering.connect();
    try {
      const before = lingering.produceRequests;
      const spread: Array<Promise<void>> = [];
      for (let i = 0; i < 10; i++) {
        spread.push(lingering.publish({ topic, key: `linger-${i}`, value: '{"not":"an event, but valid bytes"}' }));
        await new Promise((r) => setTimeout(r, 2)); // each on its own event-loop turn
      }
      await Promise.all(spread);
      expect(lingering.produceRequests - before).toBe(1);

      // Without a linger, the same spread becomes one produce request per turn.
      const eager = new EventProducer(kafka, { ackTimeoutMs: 10_000 });
      await eager.connect();
      try {
        const eagerSpread: Array<Promise<void>> = [];
        for (let i = 0; i < 5; i++) {
          eagerSpread.push(eager.publish({ topic, key: `eager-${i}`, value: '{}' }));
          await new Promise((r) => setTimeout(r, 2));
        }
        await Promise.all(eagerSpread);
        expect(eager.produceRequests).toBe(5);
      } finally {
        await eager.close();
      }

      // A publish still lingering when close() is called is sent and acknowledged, not dropped or delayed.
      const last = lingering.publish({ topic, key: 'linger-last', value: '{}' });
      const closing = lingering.close();
      await expect(last).resolves.toBeUndefined();
      await closing;
      expect(lingering.produceRequests - before).toBe(2);
    } finally {
      await lingering.close().catch(() => undefined);
    }
  });

  it('with a topic prefix, writes every message to the prefixed topic and nothing to the unprefixed one', async () => {
    const prefix = `lt-${randomUUID().slice(0, 8)}.`;
    await admin.createTopics({ topics: [{ topic: prefix + topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    const isolated = new EventProducer(kafka, { ackTimeoutMs: 10_000, topicPrefix: prefix });
    try {
      await isolated.connect();
      const sum = async (t: string) => (await admin.fetchTopicOffsets(t)).reduce((n, p) => n + Number(p.high), 0);
      const shared = await sum(topic);
      await Promise.all([1, 2, 3].map((n) => isolated.publish({ topic, key: `k${n}`, value: '{}' })));
      expect(await sum(prefix + topic)).toBe(3);
      expect(await sum(topic)).toBe(shared);
    } finally {
      await isolated.close().catch(() => undefined);
      await admin.deleteTopics({ topics: [prefix + topic] }).catch(() => undefined);
    }
  });

  it('rejects a publish that the broker cannot take (unknown topic) instead of hanging', async () => {
    await expect(producer.publish({ topic: `test.missing-${randomUUID()}.v1`, key: 'k', value: '{}' })).rejects.toThrow();
  });

  it('retries a failing batch instead of skipping it, and commits only what was handled', async () => {
    const retryTopic = `test.platform-retry-${randomUUID()}.v1`;
    await admin.createTopics({ topics: [{ topic: retryTopic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    try {
      const values = Array.from({ length: 20 }, (_, i) => `m${i}`);
      await Promise.all(values.map((v) => producer.publish({ topic: retryTopic, key: v, value: v })));
      const groupId = `test-retry-${randomUUID()}`;
      let failures = 0;
      const handled: string[] = [];
      const c1 = await startConsumer(kafka, {
        groupId,
        topics: [retryTopic],
        logger,
        parse: (m) => m.value,
        handle: async (items) => {
          if (failures < 2) {
            failures++;
            throw new Error('database hiccup');
          }
          handled.push(...items);
        },
        deadLetter: async () => undefined,
      });
      await until(() => handled.length >= 20);
      await c1.stop();
      expect(failures).toBe(2);
      expect([...new Set(handled)].sort()).toEqual([...values].sort());

      // Same group again: offsets were committed after handling, so nothing is delivered twice.
      const replayed: string[] = [];
      const c2 = await startConsumer(kafka, {
        groupId,
        topics: [retryTopic],
        logger,
        parse: (m) => m.value,
        handle: async (items) => void replayed.push(...items),
        deadLetter: async () => undefined,
      });
      await producer.publish({ topic: retryTopic, key: 'late', value: 'late' });
      await until(() => replayed.length >= 1);
      await c2.stop();
      expect(replayed).toEqual(['late']);
    } finally {
      await admin.deleteTopics({ topics: [retryTopic] }).catch(() => undefined);
    }
  });
});
