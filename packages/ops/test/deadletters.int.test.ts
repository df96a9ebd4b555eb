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
    const headers = { 'content-type': 'application/cloudevents+json', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    await deadLetter(
      { topic, partition: 1, offset: '41', key: 'reg-1', value: '{"broken":true}', headers },
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
    // The original headers come back with the message: a CloudEvent stays one (structured mode is its content-type).
    const withKey = replayed.find((m) => m.key === 'reg-1')!;
    expect(withKey.headers).toEqual({ ...headers, 'x-gelombang-replayed-from': expect.stringMatching(/^deadletter\.v1:\d+:\d+$/) });
    expect(replayed.find((m) => m.key === null)!.headers).toEqual({ 'x-gelombang-replayed-from': expect.any(String) });
  });

  it('gives a dead letter written before headers were kept the CloudEvents content-type back, when its value is one', async () => {
    const startedAt = new Date(Date.now() - 1_000);
    const oldGroup = `ops-test-${randomUUID()}`;
    const event = JSON.stringify({
      specversion: '1.0',
      id: randomUUID(),
      source: 'urn:test',
      type: 't',
      subject: randomUUID(),
      time: new Date().toISOString(),
      data: {},
    });
    // The record as deadLetterTo wrote it until 2026-12-04: no headers field.
    await producer.publish({
      topic: 'deadletter.v1',
      key: 'reg-old',
      value: JSON.stringify({
        originalTopic: topic,
        partition: 0,
        offset: '3',
        consumerGroup: oldGroup,
        reason: 'old',
        value: event,
        deadLetteredAt: new Date().toISOString(),
      }),
    });
    const letters = await listDeadLetters(brokers, { consumerGroup: oldGroup, since: startedAt });
    expect(letters).toHaveLength(1);
    const seen = tap.messages.length;
    await replayDeadLetters(brokers, letters);
    await waitFor(async () => tap.messages.slice(seen).find((m) => m.key === 'reg-old'), 30_000, 'the replayed old dead letter');
    expect(tap.messages.slice(seen).find((m) => m.key === 'reg-old')!.headers).toMatchObject({ 'content-type': 'application/cloudevents+json' });
  });
});
