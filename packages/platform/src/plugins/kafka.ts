import fp from 'fastify-plugin';
import type { BaseConfig } from '../config';
import { brokerWatch, createKafka, EventProducer, type Kafka } from '../kafka';
import { scrapedGauge } from '../metrics';

declare module 'fastify' {
  interface FastifyInstance {
    kafka: Kafka;
    /** acks=all, coalesced: `publish` resolves once Kafka stored the message. */
    producer: EventProducer;
  }
}

export interface KafkaPluginOptions {
  config: Pick<
    BaseConfig,
    'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID' | 'KAFKA_ACK_TIMEOUT_MS' | 'KAFKA_LINGER_MS' | 'KAFKA_HEALTH_INTERVAL_MS' | 'KAFKA_HEALTH_TIMEOUT_MS'
  > & {
    /** In front of every topic the service writes (see EventProducer); only the intake offers it. */
    KAFKA_TOPIC_PREFIX?: string;
  };
}

/**
 * The Kafka client and the service's one producer, connected before anything publishes; readiness
 * `kafka` while it is connected and the broker watch has not found Kafka down (then publishes fail at
 * once: see BrokerWatch). On close the producer sends what is queued and waits for the
 * acknowledgements — after the consumers, workers and outbox relay that publish through it stopped.
 */
export const kafkaPlugin = fp<KafkaPluginOptions>(
  async (app, { config }) => {
    const clientId = config.KAFKA_CLIENT_ID ?? app.serviceName;
    const client = createKafka({ brokers: config.KAFKA_BROKERS, clientId, logger: app.log });
    const watch = brokerWatch(config.KAFKA_BROKERS, clientId, {
      intervalMs: config.KAFKA_HEALTH_INTERVAL_MS,
      timeoutMs: config.KAFKA_HEALTH_TIMEOUT_MS,
      logger: app.log,
    });
    const producer = new EventProducer(client, {
      ackTimeoutMs: config.KAFKA_ACK_TIMEOUT_MS,
      lingerMs: config.KAFKA_LINGER_MS,
      topicPrefix: config.KAFKA_TOPIC_PREFIX ?? '',
      watch,
    });
    await producer.connect();
    watch.start();
    app.decorate('kafka', client);
    app.decorate('producer', producer);
    scrapedGauge(
      app.metrics,
      'kafka_produce_requests_total',
      'Produce requests sent (each carries every event queued when it left; KAFKA_LINGER_MS widens that window)',
      () => [{ value: producer.produceRequests }],
    );
    app.readiness.add('kafka', async () => {
      if (!producer.isConnected) throw new Error('producer disconnected');
      if (!producer.isAvailable) throw Object.assign(new Error('kafka unreachable'), { name: 'KafkaUnavailable' });
    });
    app.addHook('onClose', async () => {
      await producer.close();
      await watch.stop();
    });
  },
  { name: 'gelombang-kafka', fastify: '5.x', dependencies: ['gelombang-health', 'gelombang-metrics'] },
);
