import { runScenario, world } from './harness/scenario';

/*
 * Kafka faults (issue #14). A single node killed under load: the intake cannot make a 202 durable, so
 * it must refuse (503 with Retry-After) until the broker is back, and lose nothing it accepted. One
 * broker of three (replication 3, min ISR 2) killed: acks=all writes go on with the two left; the
 * funnel runs through it. A broker frozen (SIGSTOP): produce requests reach it and their acks never
 * come back in time, the producer retries, the broker stores both: the consumers' dedupe (or an
 * idempotent producer) must keep that from becoming a second registration.
 */
const DOWN_SEC = Number(process.env.CHAOS_KAFKA_DOWN_SEC ?? 12);

describe('Kafka, one node, under load', () => {
  const cluster = world({ name: 'kafka-single' });

  it('single node SIGKILL: only 202 or 503 + Retry-After while it is down; every 202 exists once afterwards', async () => {
    await runScenario(cluster(), {
      name: 'kafka-single-sigkill',
      faultSec: DOWN_SEC,
      // Readiness notices the dead broker: the balancer stops sending what would wait and get 503.
      readiness: { service: 'intake', expect: 'drops' },
      fault: async (c) => {
        c.kafka.kill(1);
        return () => c.kafka.start();
      },
    });
  });

  it('lost acks (broker frozen, producer retries): a retried batch stored twice is still one registration', async () => {
    await runScenario(cluster(), {
      name: 'kafka-lost-ack',
      faultSec: Number(process.env.CHAOS_KAFKA_FREEZE_SEC ?? 8),
      funnel: { quota: 1_000_000 },
      fault: async (c) => {
        c.kafka.freeze(1);
        return async () => c.kafka.thaw(1);
      },
    });
  });
});

describe('Kafka, three nodes (RF 3, min ISR 2), under load', () => {
  const cluster = world({ name: 'kafka-3node', kafkaNodes: 3 });

  it('one broker of three SIGKILLed (RF 3, min ISR 2): the funnel goes on, nothing lost or doubled', async () => {
    await runScenario(cluster(), {
      name: 'kafka-3node-sigkill',
      faultSec: DOWN_SEC,
      funnel: { quota: 1_000_000 },
      fault: async (c) => {
        c.kafka.kill(2);
        return () => c.kafka.start();
      },
      check: { recoveryOp: 'enroll' },
    });
  });
});
