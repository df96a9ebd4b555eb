import pino from 'pino';
import { createKafka, type Kafka, type KafkaAdmin } from '@gelombang/platform';

export type Offsets = Record<number, bigint>;

export const brokersFromEnv = () => (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',').map((b) => b.trim());

// The client's errors reach stderr, its warnings (retries, rebalances) do not: a run's output stays readable.
const logger = pino({ level: 'error' }, process.stderr);

export const newKafka = (brokers: string[], clientId = 'loadtests'): Kafka => createKafka({ brokers, clientId, logger });

/** The next offset to be written, per partition (the "high watermark"). */
export async function endOffsets(admin: KafkaAdmin, topic: string): Promise<Offsets> {
  return Object.fromEntries((await admin.ends(topic)).map((p) => [p.partition, p.high]));
}

/** Messages on `topic` that `groupId` has not committed yet (a group with no commit counts all). */
export async function groupLag(admin: KafkaAdmin, groupId: string, topic: string): Promise<number> {
  const partitions = new Map((await admin.ends(topic)).map((p) => [p.partition, p]));
  let lag = 0n;
  for (const c of await admin.committed(groupId, topic)) {
    const p = partitions.get(c.partition);
    if (!p) continue;
    const at = c.offset ?? p.low;
    if (p.high > at) lag += p.high - at;
  }
  return Number(lag);
}
