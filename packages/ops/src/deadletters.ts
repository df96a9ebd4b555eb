import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { CLOUDEVENTS_CONTENT_TYPE, DEADLETTER_V1, deadLetterV1, type DeadLetterV1 } from '@gelombang/contracts';
import { createKafka, EventProducer, readTopic } from '@gelombang/platform';

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

const kafkaFor = (brokers: string[]) => createKafka({ brokers, clientId: 'gelombang-ops', logger: pino({ level: 'silent' }) });

const matches = (d: DeadLetter, f: DeadLetterFilter) =>
  (!f.consumerGroup || d.consumerGroup === f.consumerGroup) &&
  (!f.originalTopic || d.originalTopic === f.originalTopic) &&
  (!f.since || new Date(d.deadLetteredAt) >= f.since);

/**
 * Every dead letter on deadletter.v1 up to its current end that matches `filter`, oldest first per
 * partition. Reads with a throwaway consumer group (committing nothing a service uses).
 */
export async function listDeadLetters(brokers: string[], filter: DeadLetterFilter = {}, timeoutMs = 60_000): Promise<DeadLetter[]> {
  const found: DeadLetter[] = [];
  // With --since, each partition is read from the first record written a minute before it (Kafka's
  // own timestamps; the margin covers clocks), not from the start: a long-lived topic holds millions.
  const from = filter.since ? new Date(filter.since.getTime() - SINCE_MARGIN_MS) : 'start';
  const { complete } = await readTopic(kafkaFor(brokers), DEADLETTER_V1, { from, timeoutMs, groupId: `gelombang-ops-${randomUUID()}` }, (m) => {
    try {
      const d = deadLetterV1.parse(JSON.parse(m.value));
      const letter: DeadLetter = { ...d, key: m.key, at: { partition: m.partition, offset: m.offset } };
      if (matches(letter, filter)) found.push(letter);
    } catch {
      // Not a dead-letter record (someone wrote something else there): nothing to replay.
    }
  });
  if (!complete) throw new Error(`deadletter.v1 not read to its end within ${timeoutMs} ms`);
  return found;
}

const SINCE_MARGIN_MS = 60_000;

/**
 * The headers the message had, so a replayed event is still a CloudEvent for the official SDKs (their
 * Kafka binding reads structured mode from `content-type`). A dead letter written before they were
 * kept (2026-12-04) gets the one header every event of ours had, when its value is a structured
 * CloudEvent.
 */
function originalHeaders(d: DeadLetter): Record<string, string> {
  if (d.headers) return d.headers;
  try {
    const v = JSON.parse(d.value) as { specversion?: unknown };
    return v && typeof v === 'object' && typeof v.specversion === 'string' ? { 'content-type': CLOUDEVENTS_CONTENT_TYPE } : {};
  } catch {
    return {};
  }
}

/**
 * Publishes each dead letter's original message again, to its original topic with its original key
 * and headers, with acks=all. Every consumer of that topic sees it again, not only the group that failed: they are
 * all idempotent (at-least-once delivery everywhere), so the ones that had processed it change nothing.
 * Replaying the same dead letters twice is harmless for the same reason.
 */
export async function replayDeadLetters(brokers: string[], letters: DeadLetter[]): Promise<number> {
  if (letters.length === 0) return 0;
  const producer = new EventProducer(kafkaFor(brokers), { ackTimeoutMs: 30_000 });
  await producer.connect();
  try {
    await Promise.all(
      letters.map((d) =>
        producer.publish({
          topic: d.originalTopic,
          // A key that was only the position (the original had none) is not the original key.
          key: d.key && d.key !== `${d.originalTopic}:${d.partition}:${d.offset}` ? d.key : null,
          value: d.value,
          headers: { ...originalHeaders(d), 'x-gelombang-replayed-from': `${DEADLETTER_V1}:${d.at.partition}:${d.at.offset}` },
        }),
      ),
    );
  } finally {
    await producer.close();
  }
  return letters.length;
}
