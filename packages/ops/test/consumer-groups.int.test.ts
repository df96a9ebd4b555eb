import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { startConsumer, withKafkaAdmin, type RunningConsumer } from '@gelombang/platform';
import { deleteTestGroups, KAFKA_BROKERS, testTopic, uniqueId, type TestTopic } from '@gelombang/testkit';
import { consumerGroups, pruneConsumerGroups } from '../src/consumer-groups';

const brokers = KAFKA_BROKERS.split(',');

describe('consumer groups made by tests and tools are deleted (real Kafka)', () => {
  let t: TestTopic;
  const started: RunningConsumer[] = [];
  const made: string[] = [];

  const join = async (groupId: string) => {
    made.push(groupId);
    const c = await startConsumer(t.kafka, {
      groupId,
      topics: [t.topic],
      logger: pino({ level: 'silent' }),
      parse: (m) => m,
      handle: async () => undefined,
      deadLetter: async () => undefined,
    });
    started.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await testTopic('groups', 1);
  });
  afterAll(async () => {
    for (const c of started) await c.stop().catch(() => undefined);
    await withKafkaAdmin(t.kafka, (admin) => admin.deleteGroups(made)).catch(() => undefined);
    await t.close();
  });

  it('testkit deletes the empty groups named with a test’s id, and keeps one still in use', async () => {
    const id = uniqueId();
    const done = await join(`email-test-email_t_${id}`);
    await join(`email-test-email_t_${id}-status`); // still running
    await done.stop();
    expect(await deleteTestGroups(id)).toEqual([`email-test-email_t_${id}`]);
    const left = (await withKafkaAdmin(t.kafka, (admin) => admin.listGroups())).map((g) => g.groupId).filter((g) => g.includes(id));
    expect(left).toEqual([`email-test-email_t_${id}-status`]);
    await expect(deleteTestGroups('email-verification')).rejects.toThrow(/not a test id/);
  });

  it('lists a tool’s empty group as a leftover and a service-like group as kept, and prunes only leftovers', async () => {
    const leftover = `ops-test-${randomUUID()}`;
    const service = `ops-keep-${randomUUID()}`;
    for (const g of [leftover, service]) await (await join(g)).stop();
    const report = await consumerGroups(brokers);
    expect(report.leftovers).toContain(leftover);
    expect(report.kept.map((g) => g.groupId)).toContain(service);
    for (const g of ['email-verification', 'intake-projector', 'nik-verification', 'enrollment', 'partner.bank-x.status'])
      expect(report.leftovers).not.toContain(g);
    // Only this test's own leftovers: other runs may share the broker.
    expect(await pruneConsumerGroups(brokers, (g) => g === leftover || g === service)).toEqual([leftover]);
    const after = (await consumerGroups(brokers)).kept.map((g) => g.groupId);
    expect(after).toContain(service);
    expect(after).not.toContain(leftover);
  });
});
