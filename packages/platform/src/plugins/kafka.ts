import fp from 'fastify-plugin';
import type { BaseConfig } from '../config';
import { createKafka, EventProducer, type Kafka } from '../kafka';
import { scrapedCounter } from '../metrics';
import { publishedMetrics } from './metrics';

declare module 'fastify' {
  interface FastifyInstance {
    kafka: Kafka;
    /** acks=all, coalesced: `publish` resolves once Kafka stored the message. */
    producer: EventProducer;
  }
}

export interface KafkaPluginOptions {
  config: Pick<BaseConfig, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID' | 'KAFKA_ACK_TIMEOUT_MS' | 'KAFKA_LINGER_MS'> & {
    /** In front of every topic the service writes (see EventProducer); only the intake offers it. */
    KAFKA_TOPIC_PREFIX?: string;
  };
}

/**
 * The Kafka client and the service's one producer, connected before anything publishes; readiness
 * `kafka` while it is connected. On close the producer sends what is queued and waits for the
 * acknowledgements — after the consumers, workers and outbox relay that publish through it stopped.
 */
export const kafkaPlugin = fp<KafkaPluginOptions>(
  async (app, { config }) => {
    const client = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID ?? app.serviceName, logger: app.log });
    const producer = new EventProducer(client, {
      ackTimeoutMs: config.KAFKA_ACK_TIMEOUT_MS,
      lingerMs: config.KAFKA_LINGER_MS,
      topicPrefix: config.KAFKA_TOPIC_PREFIX ?? '',
    });
    await producer.connect();
    app.decorate('kafka', client);
    app.decorate('producer', producer);
    scrapedCounter(
      app.metrics,
      'kafka_produce_requests_total',
      'Produce requests sent (each carries every event queued when it left; KAFKA_LINGER_MS widens that window)',
      () => producer.produceRequests,
    );
    publishedMetrics(app.metrics, producer);
    app.readiness.add('kafka', async () => {
      if (!producer.isConnected) throw new Error('producer disconnected');
    });
    app.addHook('onClose', () => producer.close());
  },
  { name: 'gelombang-kafka', fastify: '5.x', dependencies: ['gelombang-health', 'gelombang-metrics'] },
);
