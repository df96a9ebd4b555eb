import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { DEADLETTER_V1, deadLetterV1, type DeadLetterV1 } from '@gelombang/contracts';

export interface DeadLetter extends DeadLetterV1 {
  /** Key of the dead-letter record: the original message's key, or `topic:partition:offset` when it had none. */
  key: string | null;
  /** Where the dead letter itself sits on deadletter.v1. */
  at: { partition: number; offset: string };
}

export interface DeadLetterFilter {
  consumerGroup?: string;
  originalTopic?: string;
  /** Only dead letters written at or after this instant. */
  since?: Date;
}

const kafkaFor = (brokers: string[]) => new Kafka({ clientId: 'gelombang-ops', brokers, logLevel: logLevel.NOTHING });

const matches = (d: DeadLetter, f: DeadLetterFilter) =>
  (!f.consumerGroup || d.consumerGroup === f.consumerGroup) &&
  (!f.originalTopic || d.originalTopic === f.originalTopic) &&
  (!f.since || new Date(d.deadLetteredAt) >= f.since);

/**
 * Every dead letter on deadletter.v1 up to its current end that matches `filter`, oldest first per
 * partition. Reads with a throwaway consumer group (committing nothing a service uses).
 */
export async function listDeadLetters(brokers: string[], filter: DeadLetterFilter = {}, timeoutMs = 60_000): Promise<DeadLetter[]> {
  const kafka = kafkaFor(brokers);
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(DEADLETTER_V1);
  // With --since, each partition is read from the first record written a minute before it (Kafka's
  // own timestamps; the margin covers clocks), not from the start: a long-lived topic holds millions.
  const starts = filter.since ? await admin.fetchTopicOffsetsByTimestamp(DEADLETTER_V1, filter.since.getTime() - SINCE_MARGIN_MS) : [];
  await admin.disconnect();
  const startOf = new Map(starts.map((p) => [p.partition, BigInt(p.offset)]));
  const pending = new Map(
    offsets
      .filter((p) => BigInt(p.high) > (startOf.get(p.partition) ?? BigInt(p.low)))
      .map((p) => [p.partition, BigInt(p.high) - 1n]),
  );
  const found: DeadLetter[] = [];
  if (pending.size === 0) return found;
  const consumer = kafka.consumer({ groupId: `gelombang-ops-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [DEADLETTER_V1], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`deadletter.v1 not read to its end within ${timeoutMs} ms`)), timeoutMs);
      const running = consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const last = pending.get(partition);
          if (last === undefined) return;
          try {
            const d = deadLetterV1.parse(JSON.parse(message.value?.toString() ?? ''));
            const letter: DeadLetter = { ...d, key: message.key?.toString() ?? null, at: { partition, offset: message.offset } };
            if (matches(letter, filter)) found.push(letter);
          } catch {
            // Not a dead-letter record (someone wrote something else there): nothing to replay.
          }
          if (BigInt(message.offset) >= last) {
            pending.delete(partition);
            if (pending.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          }
        },
      });
      // Position the partitions read from a timestamp (kafkajs accepts seek only once run() set up the group).
      void running.then(async () => {
        for (let tries = 0; tries < 200; tries++) {
          try {
            for (const [partition, offset] of startOf) if (pending.has(partition)) consumer.seek({ topic: DEADLETTER_V1, partition, offset: offset.toString() });
            return;
          } catch {
            await new Promise((r) => setTimeout(r, 25));
          }
        }
      }, reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return found;
}

const SINCE_MARGIN_MS = 60_000;

/**
 * Publishes each dead letter's original message again, to its original topic with its original key,
 * with acks=all. Every consumer of that topic sees it again, not only the group that failed: they are
 * all idempotent (at-least-once delivery everywhere), so the ones that had processed it change nothing.
 * Replaying the same dead letters twice is harmless for the same reason.
 */
export async function replayDeadLetters(brokers: string[], letters: DeadLetter[]): Promise<number> {
  if (letters.length === 0) return 0;
  const producer = kafkaFor(brokers).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const byTopic = new Map<string, DeadLetter[]>();
    for (const d of letters) byTopic.set(d.originalTopic, [...(byTopic.get(d.originalTopic) ?? []), d]);
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, ds]) => ({
        topic,
        messages: ds.map((d) => ({
          // A key that was only the position (the original had none) is not the original key.
          key: d.key && d.key !== `${d.originalTopic}:${d.partition}:${d.offset}` ? d.key : null,
          value: d.value,
          headers: { 'x-gelombang-replayed-from': `${DEADLETTER_V1}:${d.at.partition}:${d.at.offset}` },
        })),
      })),
    });
  } finally {
    await producer.disconnect();
  }
  return letters.length;
}
