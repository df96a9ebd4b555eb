import { runScenario } from './harness/scenario';

/*
 * Kafka broker SIGKILL (issue #14). A single node killed under load: the intake cannot make a 202
 * durable, so it must refuse (503 with Retry-After) until the broker is back, and lose nothing it
 * accepted. One broker of three (replication 3, min ISR 2) killed: acks=all writes go on with the two
 * left; the funnel runs through it.
 */
describe('Kafka broker SIGKILL under load', () => {
  it('single node: only 202 or 503 + Retry-After while it is down; every 202 exists once afterwards', async () => {
    await runScenario({
      name: 'kafka-single-sigkill',
      faultSec: Number(process.env.CHAOS_KAFKA_DOWN_SEC ?? 15),
      fault: async (c) => {
        c.kafka.kill(1);
        return () => c.kafka.start();
      },
    });
  });

  it('one broker of three (RF 3, min ISR 2): the funnel goes on, nothing lost or doubled', async () => {
    await runScenario({
      name: 'kafka-3node-sigkill',
      kafkaNodes: 3,
      faultSec: Number(process.env.CHAOS_KAFKA_DOWN_SEC ?? 15),
      funnel: { quota: 1_000_000 },
      fault: async (c) => {
        c.kafka.kill(2);
        return () => c.kafka.start();
      },
      check: { recoveryOp: 'enroll' },
    });
  });
});
