import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { until } from '@gelombang/testkit';
import { createKafka, EventProducer, startConsumer, type ConsumedMessage } from '../src/kafka';
import { readTopic, tailTopics, withKafkaAdmin } from '../src/topics';

const brokers = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
const logger = pino({ level: 'silent' });

describe('topics: admin, reading and tailing with plain values (real Kafka)', () => {
  const kafka = createKafka({ brokers, clientId: 'platform-topics-test', logger });
  // An independent client, to check what the module did.
  const admin = kafka.admin();
  const created: string[] = [];
  let producer: EventProducer;

  /** A fresh topic of `partitions` partitions, deleted after the suite. */
  async function newTopic(partitions: number): Promise<string> {
    const topic = `test.platform-topics-${randomUUID()}.v1`;
    created.push(topic);
    expect(await withKafkaAdmin(kafka, (a) => a.createTopics([{ topic, partitions, replicationFactor: 1 }]))).toBe(true);
    return topic;
  }
  const groupState = async (groupId: string) => (await admin.describeGroups([groupId])).groups[0]?.state;
  const publishTo = (topic: string, key: string | null, value: string, headers?: Record<string, string>) =>
    producer.publish({ topic, key, value, ...(headers ? { headers } : {}) });

  beforeAll(async () => {
    await admin.connect();
    producer = new EventProducer(kafka, { ackTimeoutMs: 10_000 });
    await producer.connect();
  });
  afterAll(async () => {
    await producer.close();
    await Promise.all(created.map((topic) => admin.deleteTopics({ topics: [topic] }).catch(() => undefined)));
    await admin.disconnect();
  });

  describe('withKafkaAdmin', () => {
    it('creates topics (false when one already exists), lists them and deletes them', async () => {
      // Touched by nothing else: a client that has looked at a topic fails its metadata refreshes once it is gone.
      const topic = `test.platform-topics-${randomUUID()}.v1`;
      const spec = [{ topic, partitions: 3, replicationFactor: 1 }];
      try {
        expect(await withKafkaAdmin(kafka, (a) => a.createTopics(spec))).toBe(true);
        expect(await withKafkaAdmin(kafka, (a) => a.listTopics())).toContain(topic);
        expect(await withKafkaAdmin(kafka, (a) => a.createTopics(spec))).toBe(false);
        expect(await withKafkaAdmin(kafka, (a) => a.ends(topic))).toEqual([0, 1, 2].map((partition) => ({ partition, low: 0n, high: 0n })));

        await withKafkaAdmin(kafka, (a) => a.deleteTopics([topic]));
        const deadline = Date.now() + 15_000;
        while ((await withKafkaAdmin(kafka, (a) => a.listTopics())).includes(topic) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        expect(await withKafkaAdmin(kafka, (a) => a.listTopics())).not.toContain(topic);
      } finally {
        await withKafkaAdmin(kafka, (a) => a.deleteTopics([topic])).catch(() => undefined);
      }
    });

    it("reports each partition's first stored offset and next offset, as an independent client sees them", async () => {
      const topic = await newTopic(3);
      await Promise.all(['a', 'b', 'c', 'd', 'e'].map((k) => publishTo(topic, k, k)));
      const ends = await withKafkaAdmin(kafka, (a) => a.ends(topic));
      expect(ends.map((p) => p.partition)).toEqual([0, 1, 2]);
      expect(ends.reduce((n, p) => n + p.high, 0n)).toBe(5n);
      const raw = await admin.fetchTopicOffsets(topic);
      expect(ends).toEqual(
        [...raw].sort((x, y) => x.partition - y.partition).map((p) => ({ partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) })),
      );
    });

    it('finds the first offset at or after an instant, and the end where nothing is that late', async () => {
      const topic = await newTopic(1);
      await publishTo(topic, 'early', 'early');
      await publishTo(topic, 'early', 'early-2');
      await new Promise((r) => setTimeout(r, 50));
      const between = new Date();
      await new Promise((r) => setTimeout(r, 50));
      await publishTo(topic, 'late', 'late');
      await withKafkaAdmin(kafka, async (a) => {
        expect(await a.offsetsAt(topic, new Date(0))).toEqual([{ partition: 0, offset: 0n }]);
        expect(await a.offsetsAt(topic, between)).toEqual([{ partition: 0, offset: 2n }]);
        expect(await a.offsetsAt(topic, new Date(Date.now() + 60_000))).toEqual([{ partition: 0, offset: 3n }]);
      });
    });

    it("reports a group's committed offsets (null where it never committed) and deletes the group", async () => {
      const topic = await newTopic(2);
      const groupId = `test-topics-committed-${randomUUID()}`;
      expect(await withKafkaAdmin(kafka, (a) => a.committed(groupId, topic))).toEqual([
        { partition: 0, offset: null },
        { partition: 1, offset: null },
      ]);
      const keys = ['k1', 'k2', 'k3', 'k4'];
      await Promise.all(keys.map((k) => publishTo(topic, k, k)));
      const ends = await withKafkaAdmin(kafka, (a) => a.ends(topic));
      // What a group that handled everything has committed: the end of every partition it read from.
      const expected = ends.map((p) => ({ partition: p.partition, offset: p.high > 0n ? p.high : null }));
      const seen: string[] = [];
      const consumer = await startConsumer(kafka, {
        groupId,
        topics: [topic],
        logger,
        parse: (m) => m.value,
        handle: async (items) => void seen.push(...items),
        deadLetter: async () => undefined,
      });
      try {
        await until(() => seen.length >= keys.length);
        // It commits right after handling a batch: give that a moment.
        const deadline = Date.now() + 10_000;
        let committed = await withKafkaAdmin(kafka, (a) => a.committed(groupId, topic));
        while (
          JSON.stringify(committed, (_k, v) => (typeof v === 'bigint' ? String(v) : v)) !==
            JSON.stringify(expected, (_k, v) => (typeof v === 'bigint' ? String(v) : v)) &&
          Date.now() < deadline
        ) {
          await new Promise((r) => setTimeout(r, 100));
          committed = await withKafkaAdmin(kafka, (a) => a.committed(groupId, topic));
        }
        expect(committed).toEqual(expected);
      } finally {
        await consumer.stop();
      }
      expect(await groupState(groupId)).toBe('Empty');
      await withKafkaAdmin(kafka, (a) => a.deleteGroups([groupId]));
      expect(await groupState(groupId)).toBe('Dead');
      expect(await withKafkaAdmin(kafka, (a) => a.committed(groupId, topic))).toEqual([
        { partition: 0, offset: null },
        { partition: 1, offset: null },
      ]);
    });
  });

  describe('readTopic', () => {
    it('from the start, hands every message up to the end once, in order per partition, with key and headers, then deletes its group', async () => {
      const topic = await newTopic(3);
      const sent = Array.from({ length: 30 }, (_, i) => ({ key: `key-${i % 7}`, value: `v${i}` }));
      for (const m of sent) await publishTo(topic, m.key, m.value, { 'x-test': m.value });
      await publishTo(topic, null, 'no key');
      const groupId = `test-topics-read-${randomUUID()}`;
      const got: ConsumedMessage[] = [];
      const result = await readTopic(kafka, topic, { from: 'start', timeoutMs: 30_000, groupId }, (m) => void got.push(m));

      expect(result).toEqual({ read: 31, complete: true });
      expect(got.map((m) => [m.key, m.value]).sort()).toEqual([...sent.map((m) => [m.key, m.value]), [null, 'no key']].sort());
      for (const m of got)
        expect(m).toEqual({
          topic,
          partition: expect.any(Number),
          offset: expect.any(String),
          key: m.key,
          value: m.value,
          headers: m.key ? { 'x-test': m.value } : {},
        });
      for (const p of [0, 1, 2]) {
        const offsets = got.filter((m) => m.partition === p).map((m) => Number(m.offset));
        expect(offsets).toEqual(offsets.map((_, i) => i));
      }
      // Same key, same partition, in the order sent.
      for (let k = 0; k < 7; k++) {
        const ofKey = got.filter((m) => m.key === `key-${k}`);
        expect(new Set(ofKey.map((m) => m.partition)).size).toBe(1);
        expect(ofKey.map((m) => m.value)).toEqual(sent.filter((m) => m.key === `key-${k}`).map((m) => m.value));
      }
      expect(await groupState(groupId)).toBe('Dead');
    });

    it('from an instant, reads only what was written at or after it', async () => {
      const topic = await newTopic(2);
      await Promise.all(['old-1', 'old-2', 'old-3'].map((v) => publishTo(topic, v, v)));
      await new Promise((r) => setTimeout(r, 50));
      const since = new Date();
      await new Promise((r) => setTimeout(r, 50));
      await Promise.all(['new-1', 'new-2'].map((v) => publishTo(topic, v, v)));
      const got: string[] = [];
      expect(await readTopic(kafka, topic, { from: since, timeoutMs: 30_000 }, (m) => void got.push(m.value))).toEqual({ read: 2, complete: true });
      expect(got.sort()).toEqual(['new-1', 'new-2']);
      // Nothing is that late: nothing to read, answered at once.
      expect(await readTopic(kafka, topic, { from: new Date(Date.now() + 60_000), timeoutMs: 30_000 }, () => undefined)).toEqual({ read: 0, complete: true });
    });

    it('between given offsets, reads exactly [from, to) of each partition and not what came after', async () => {
      const topic = await newTopic(1);
      for (let i = 0; i < 10; i++) await publishTo(topic, 'k', `m${i}`);
      const got: string[] = [];
      expect(await readTopic(kafka, topic, { from: { 0: 3n }, to: { 0: 7n }, timeoutMs: 30_000 }, (m) => void got.push(m.value))).toEqual({
        read: 4,
        complete: true,
      });
      expect(got).toEqual(['m3', 'm4', 'm5', 'm6']);
    });

    it('when the end is never reached within the time allowed, says it is incomplete with what it read', async () => {
      const topic = await newTopic(1);
      for (let i = 0; i < 3; i++) await publishTo(topic, 'k', `m${i}`);
      const got: string[] = [];
      const started = Date.now();
      // Up to an offset not written yet: it cannot complete.
      expect(await readTopic(kafka, topic, { from: 'start', to: { 0: 10n }, timeoutMs: 2_000 }, (m) => void got.push(m.value))).toEqual({
        read: 3,
        complete: false,
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
      expect(got).toEqual(['m0', 'm1', 'm2']);
    });
  });

  describe('tailTopics', () => {
    it('hands over what is published after it started, on every topic, not what was there before; stop() deletes its group', async () => {
      const [a, b] = [await newTopic(2), await newTopic(1)];
      await publishTo(a, 'before', 'before');
      const groupId = `test-topics-tail-${randomUUID()}`;
      const got: ConsumedMessage[] = [];
      const tail = await tailTopics(kafka, [a, b], (m) => void got.push(m), { groupId });
      try {
        await publishTo(a, 'after-a', 'after-a', { 'x-test': '1' });
        await publishTo(b, null, 'after-b');
        await until(() => got.length >= 2);
        await new Promise((r) => setTimeout(r, 500)); // room for anything that should not come
        expect(got.map(({ topic, key, value, headers }) => ({ topic, key, value, headers })).sort((x, y) => x.value.localeCompare(y.value))).toEqual([
          { topic: a, key: 'after-a', value: 'after-a', headers: { 'x-test': '1' } },
          { topic: b, key: null, value: 'after-b', headers: {} },
        ]);
      } finally {
        await tail.stop();
      }
      expect(await groupState(groupId)).toBe('Dead');
    });
  });
});
