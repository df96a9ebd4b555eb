import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createKafka, EventProducer, withKafkaAdmin, type Kafka } from '@gelombang/platform';
import { KAFKA_BROKERS } from './env';
import { TopicTap } from './topic-tap';

export interface TestTopic {
  /** `test.<what>-<uuid>.v1`: this test's own, deleted by `close()`. */
  topic: string;
  kafka: Kafka;
  /** Connected; acks=all. */
  producer: EventProducer;
  /** Started on the topic: sees everything published from now on. */
  tap: TopicTap;
  close(): Promise<void>;
}

/** A topic of the test's own with a producer and a tap on it: what a test of a Kafka writer needs. */
export async function testTopic(what: string, partitions: number, brokers = KAFKA_BROKERS.split(',')): Promise<TestTopic> {
  const topic = `test.${what}-${randomUUID()}.v1`;
  const kafka = createKafka({ brokers, clientId: `${what}-test`, logger: pino({ level: 'silent' }) });
  await withKafkaAdmin(kafka, (admin) => admin.createTopics([{ topic, partitions }]));
  const producer = new EventProducer(kafka, { ackTimeoutMs: 10_000 });
  await producer.connect();
  const tap = await new TopicTap([topic], brokers).start();
  return {
    topic,
    kafka,
    producer,
    tap,
    async close() {
      await tap.stop();
      await producer.close();
      await withKafkaAdmin(kafka, (admin) => admin.deleteTopics([topic])).catch(() => undefined);
    },
  };
}
