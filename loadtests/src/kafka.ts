import { whileCoordinatorMoves } from '@gelombang/platform';
import { Kafka, logLevel, type Admin } from 'kafkajs';

export type Offsets = Record<number, bigint>;

export const brokersFromEnv = () => (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',').map((b) => b.trim());

export const newKafka = (brokers: string[], clientId = 'loadtests') => new Kafka({ clientId, brokers, logLevel: logLevel.ERROR });

export async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** The next offset to be written, per partition (the "high watermark"). */
export async function endOffsets(admin: Admin, topic: string): Promise<Offsets> {
  const out: Offsets = {};
  for (const p of await admin.fetchTopicOffsets(topic)) out[p.partition] = BigInt(p.high);
  return out;
}

/** Messages on `topic` that `groupId` has not committed yet (a group with no commit counts all). */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const partitions = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p]));
  const [committed] = await whileCoordinatorMoves(() => admin.fetchOffsets({ groupId, topics: [topic] }));
  let lag = 0n;
  for (const c of committed?.partitions ?? []) {
    const p = partitions.get(c.partition);
    if (!p) continue;
    const at = BigInt(c.offset === '-1' ? p.low : c.offset);
    if (BigInt(p.high) > at) lag += BigInt(p.high) - at;
  }
  return Number(lag);
}
