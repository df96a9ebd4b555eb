import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createKafka, tailTopics, type Tail } from '@gelombang/platform';
import { KAFKA_BROKERS, waitFor } from './env';

export interface TappedMessage {
  topic: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/**
 * Records what is published to some topics from the moment `start()` returns (partitions are
 * positioned at their current ends first), as an ordinary Kafka client would see it. Tests assert
 * on real broker contents with it.
 */
export class TopicTap {
  readonly messages: TappedMessage[] = [];
  private tail: Tail | undefined;

  constructor(
    private readonly topics: string[],
    private readonly brokers = KAFKA_BROKERS.split(','),
  ) {}

  async start(): Promise<this> {
    const kafka = createKafka({ brokers: this.brokers, clientId: 'topic-tap', logger: pino({ level: 'silent' }) });
    this.tail = await tailTopics(kafka, this.topics, ({ topic, key, value, headers }) => void this.messages.push({ topic, key, value, headers }), {
      groupId: `tap-${randomUUID()}`,
    });
    return this;
  }

  /** Messages on `topic` (optionally with this key), parsed as JSON (a test's assertions state their shape). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  events<T = any>(topic: string, key?: string): T[] {
    return this.messages.filter((m) => m.topic === topic && (key === undefined || m.key === key)).map((m) => JSON.parse(m.value) as T);
  }

  /** Waits until `count` messages on `topic` (with `key`, if given) were seen; returns them parsed. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async waitFor<T = any>(topic: string, opts: { key?: string; count?: number; timeoutMs?: number } = {}): Promise<T[]> {
    const count = opts.count ?? 1;
    return waitFor(
      async () => {
        const found = this.events<T>(topic, opts.key);
        return found.length >= count ? found : undefined;
      },
      opts.timeoutMs ?? 30_000,
      `${count} message(s) on ${topic}${opts.key ? ` with key ${opts.key}` : ''} (saw ${this.events(topic, opts.key).length} so far)`,
    );
  }

  async stop(): Promise<void> {
    await this.tail?.stop();
  }
}
