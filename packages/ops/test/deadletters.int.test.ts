import { randomUUID } from 'node:crypto';
import { deadLetterTo, type EventProducer } from '@gelombang/platform';
import { KAFKA_BROKERS, testTopic, waitFor, type TestTopic, type TopicTap } from '@gelombang/testkit';
import { listDeadLetters, replayDeadLetters } from '../src/deadletters';

const brokers = KAFKA_BROKERS.split(',');

describe('dead letters: list and replay (real Kafka)', () => {
  const group = `ops-test-${randomUUID()}`;
  let t: TestTopic;
  let topic: string;
  let producer: EventProducer;
  let tap: TopicTap;

  beforeAll(async () => {
    t = await testTopic('ops', 2);
    ({ topic, producer, tap } = t);
  });
  afterAll(() => t.close());

  it('lists what a consumer dead-lettered, filtered by group, and replays it to its topic with its key', async () => {
    const startedAt = new Date(Date.now() - 1_000);
    // Dead-lettered the way every service does it.
    const deadLetter = deadLetterTo(producer, group);
    await deadLetter(
      { topic, partition: 1, offset: '41', key: 'reg-1', value: '{"broken":true}', headers: {} },
      'pii.email is sealed with a key this service does not hold',
    );
    await deadLetter({ topic, partition: 0, offset: '7', key: null, value: 'not json', headers: {} }, 'Unexpected token');

    // From a moment before the test: read from that timestamp, not the whole (possibly long-lived) topic.
    const letters = await listDeadLetters(brokers, { consumerGroup: group, since: startedAt });
    expect(letters.map((d) => [d.originalTopic, d.partition, d.offset, d.key, d.reason.slice(0, 10)])).toEqual(
      expect.arrayContaining([
        [topic, 1, '41', 'reg-1', 'pii.email '],
        [topic, 0, '7', `${topic}:0:7`, 'Unexpected'],
      ]),
    );
    expect(letters).toHaveLength(2);
    expect(await listDeadLetters(brokers, { consumerGroup: group, since: new Date(Date.now() + 60_000) })).toEqual([]);

    expect(await replayDeadLetters(brokers, letters)).toBe(2);
    await waitFor(async () => (tap.messages.filter((m) => m.topic === topic).length >= 2 ? true : undefined), 30_000, 'the replayed messages');
    const replayed = tap.messages.filter((m) => m.topic === topic);
    expect(replayed.map((m) => [m.key, m.value]).sort()).toEqual([
      [null, 'not json'],
      ['reg-1', '{"broken":true}'],
    ]);
    expect(replayed.every((m) => m.headers['x-gelombang-replayed-from']?.startsWith('deadletter.v1:'))).toBe(true);
  });
});
