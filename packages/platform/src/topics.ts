/*
 * Reading topics and administering them, with plain values (offsets as bigint, messages as
 * ConsumedMessage): what the operators' tools, the test helpers and the load suite need besides
 * EventProducer and startConsumer. It reaches the client only through kafka.ts (decision 0001), so a
 * swap stays in kafka.ts, partitioner.ts and this file.
 */
import { randomUUID } from 'node:crypto';
import { consumedMessage, seekWhenReady, whileCoordinatorMoves, type ConsumedMessage, type Kafka } from './kafka';
import { waitAtMost } from './timing';

type Admin = ReturnType<Kafka['admin']>;
type Consumer = ReturnType<Kafka['consumer']>;
type Batch = Parameters<NonNullable<NonNullable<Parameters<Consumer['run']>[0]>['eachBatch']>>[0]['batch'];

export interface PartitionOffsets {
  partition: number;
  /** The first offset still stored. */
  low: bigint;
  /** The next offset to be written (the "high watermark"). */
  high: bigint;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Default: the broker's `default.replication.factor`. */
  replicationFactor?: number;
}

/** Cluster administration with plain values; only lent out by `withKafkaAdmin`, which closes it. */
export interface KafkaAdmin {
  /** Per partition, ordered by partition. */
  ends(topic: string): Promise<PartitionOffsets[]>;
  /** Per partition, the first offset whose (Kafka) timestamp is at or after `at`; its high watermark if none is. */
  offsetsAt(topic: string, at: Date): Promise<Array<{ partition: number; offset: bigint }>>;
  /** What `groupId` committed on each of the topic's partitions; null where it never committed. */
  committed(groupId: string, topic: string): Promise<Array<{ partition: number; offset: bigint | null }>>;
  /** Creates the topics and waits for their leaders; false when some already existed (the others are created, not waited for). */
  createTopics(topics: TopicSpec[]): Promise<boolean>;
  deleteTopics(topics: string[]): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Deletes consumer groups that have no members. */
  deleteGroups(groupIds: string[]): Promise<void>;
  /** Every consumer group the cluster knows, with its state (Empty, Stable, …). */
  listGroups(): Promise<Array<{ groupId: string; state: string }>>;
}

export async function withKafkaAdmin<T>(kafka: Kafka, fn: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(lend(admin));
  } finally {
    await admin.disconnect();
  }
}

const byPartition = <P extends { partition: number }>(list: P[]) => [...list].sort((a, b) => a.partition - b.partition);

function lend(admin: Admin): KafkaAdmin {
  return {
    ends: async (topic) =>
      byPartition((await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) }))),
    offsetsAt: async (topic, at) =>
      byPartition((await admin.fetchTopicOffsetsByTimestamp(topic, at.getTime())).map((p) => ({ partition: p.partition, offset: BigInt(p.offset) }))),
    committed: async (groupId, topic) => {
      const [t] = await whileCoordinatorMoves(() => admin.fetchOffsets({ groupId, topics: [topic] }));
      return byPartition((t?.partitions ?? []).map((p) => ({ partition: p.partition, offset: Number(p.offset) >= 0 ? BigInt(p.offset) : null })));
    },
    createTopics: (topics) =>
      admin.createTopics({
        topics: topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          ...(t.replicationFactor ? { replicationFactor: t.replicationFactor } : {}),
        })),
        waitForLeaders: true,
      }),
    deleteTopics: (topics) => admin.deleteTopics({ topics }),
    listTopics: () => admin.listTopics(),
    deleteGroups: async (groupIds) => void (await whileCoordinatorMoves(() => admin.deleteGroups(groupIds))),
    listGroups: async () => {
      const { groups } = await admin.listGroups();
      if (groups.length === 0) return [];
      const described = await whileCoordinatorMoves(() => admin.describeGroups(groups.map((g) => g.groupId)));
      return described.groups.map((g) => ({ groupId: g.groupId, state: g.state }));
    },
  };
}

export interface ReadTopicOptions {
  /**
   * Where each partition's reading begins: its first stored message, its first message at or after
   * an instant (Kafka's timestamps), or a given offset (a partition not listed begins at its start).
   */
  from: 'start' | Date | Record<number, bigint>;
  /** Where each partition's reading stops, exclusive (a partition not listed is not read). Default: its end when the read begins. */
  to?: Record<number, bigint>;
  /** Gives up after this long; the answer then says `complete: false`. */
  timeoutMs: number;
  /** The throwaway group that reads (default `read-<uuid>`): it commits nothing and is deleted afterwards. */
  groupId?: string;
}

/**
 * Hands every message of [from, to) of each partition to `onMessage` once, in offset order per
 * partition, then leaves. Offsets are taken to have no gaps (no transactions or compaction on our
 * topics): a partition is done once the offset before its `to` was read.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  opts: ReadTopicOptions,
  onMessage: (msg: ConsumedMessage) => void,
): Promise<{ read: number; complete: boolean }> {
  const { ends, starts } = await withKafkaAdmin(kafka, async (admin) => ({
    ends: await admin.ends(topic),
    starts: opts.from instanceof Date ? await admin.offsetsAt(topic, opts.from) : [],
  }));
  const startOf = new Map<number, bigint>(ends.map((p) => [p.partition, p.low]));
  for (const p of starts) startOf.set(p.partition, p.offset);
  if (typeof opts.from === 'object' && !(opts.from instanceof Date)) for (const [p, o] of Object.entries(opts.from)) startOf.set(Number(p), o);
  const to = new Map<number, bigint>(opts.to ? Object.entries(opts.to).map(([p, o]) => [Number(p), o]) : ends.map((p) => [p.partition, p.high]));
  // Next offset to hand out per partition: a batch fetched before the seek took effect may come again.
  const next = new Map([...startOf].filter(([p, start]) => (to.get(p) ?? 0n) > start));
  if (next.size === 0) return { read: 0, complete: true };

  const groupId = opts.groupId ?? `read-${randomUUID()}`;
  let read = 0;
  let allRead: () => void = () => undefined;
  const done = new Promise<boolean>((resolve) => (allRead = () => resolve(true)));
  const consumer = await follow(kafka, groupId, [topic], true, (batch) => {
    const p = batch.partition;
    const at = next.get(p);
    if (at === undefined) return;
    const end = to.get(p) ?? 0n;
    let offset = at;
    for (const m of batch.messages) {
      const o = BigInt(m.offset);
      if (o < offset || o >= end) continue;
      offset = o + 1n;
      read++;
      onMessage(consumedMessage(batch, m));
    }
    if (offset >= end) {
      next.delete(p);
      if (next.size === 0) allRead();
    } else next.set(p, offset);
  });
  try {
    await seekWhenReady(
      consumer,
      [...next].map(([partition, offset]) => ({ topic, partition, offset: offset.toString() })),
    );
    const complete = await waitAtMost(done, opts.timeoutMs);
    return { read, complete };
  } finally {
    await consumer.disconnect();
    await withKafkaAdmin(kafka, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
}

export interface Tail {
  stop(): Promise<void>;
}

/**
 * Hands `onMessage` everything published to `topics` from the moment this resolves: every partition
 * starts at its end as read before joining, and it resolves once the group was joined. `stop()`
 * leaves and deletes the throwaway group (default id `tail-<uuid>`; it commits nothing).
 */
export async function tailTopics(kafka: Kafka, topics: string[], onMessage: (msg: ConsumedMessage) => void, opts: { groupId?: string } = {}): Promise<Tail> {
  const ends = await withKafkaAdmin(kafka, async (admin) => Promise.all(topics.map(async (topic) => ({ topic, partitions: await admin.ends(topic) }))));
  const groupId = opts.groupId ?? `tail-${randomUUID()}`;
  let joined: () => void = () => undefined;
  const hasJoined = new Promise<void>((resolve) => (joined = resolve));
  const consumer = await follow(
    kafka,
    groupId,
    topics,
    false,
    (batch) => batch.messages.forEach((m) => onMessage(consumedMessage(batch, m))),
    () => joined(),
  );
  try {
    await seekWhenReady(
      consumer,
      ends.flatMap(({ topic, partitions }) => partitions.map((p) => ({ topic, partition: p.partition, offset: p.high.toString() }))),
    );
    await hasJoined;
  } catch (e) {
    await consumer.disconnect();
    throw e;
  }
  return {
    async stop() {
      await consumer.disconnect();
      await withKafkaAdmin(kafka, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
    },
  };
}

/** A running group member that commits nothing, to be positioned with `seekWhenReady`. */
async function follow(
  kafka: Kafka,
  groupId: string,
  topics: string[],
  fromBeginning: boolean,
  onBatch: (batch: Batch) => void,
  onJoin?: () => void,
): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  if (onJoin) consumer.on(consumer.events.GROUP_JOIN, onJoin);
  try {
    await consumer.connect();
    // fromBeginning: where kafkajs resets a position that is no longer stored (retention deleted it).
    await consumer.subscribe({ topics, fromBeginning });
    await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => onBatch(batch) });
  } catch (e) {
    await consumer.disconnect();
    throw e;
  }
  return consumer;
}
