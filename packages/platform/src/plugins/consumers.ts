import fp from 'fastify-plugin';
import { deadLetterTo, startConsumer, type ConsumedMessage, type ConsumerOptions, type RunningConsumer } from '../kafka';

/** What a consumer needs of an event contract (`@gelombang/contracts`' EventContract is one). */
export interface ConsumableEvent<E> {
  topic: string;
  schema: { parse(value: unknown): E };
}

/** One consumer group over one event type, as `consumers` starts it. */
export interface EventConsumer {
  group: string;
  topic: string;
  parse: (msg: ConsumedMessage) => unknown;
  handle: (events: unknown[]) => Promise<void>;
  fetch?: ConsumerOptions<unknown>['fetch'];
  onDeadLettered?: () => void;
}

/**
 * A consumer of `event`: each message is parsed with the contract's schema, then `accept` (a check the
 * schema cannot make, e.g. "sealed with a key this service holds"); a message failing either is
 * dead-lettered with the reason and skipped, the rest reach `handle` a partition's batch at a time.
 */
export function eventConsumer<E>(
  event: ConsumableEvent<E>,
  spec: {
    group: string;
    handle: (events: E[]) => Promise<void>;
    accept?: (event: E) => void;
    fetch?: ConsumerOptions<unknown>['fetch'];
    onDeadLettered?: () => void;
  },
): EventConsumer {
  const { accept } = spec;
  return {
    group: spec.group,
    topic: event.topic,
    parse: (msg) => {
      const parsed = event.schema.parse(JSON.parse(msg.value));
      accept?.(parsed);
      return parsed;
    },
    handle: spec.handle as (events: unknown[]) => Promise<void>,
    ...(spec.fetch ? { fetch: spec.fetch } : {}),
    ...(spec.onDeadLettered ? { onDeadLettered: spec.onDeadLettered } : {}),
  };
}

export interface ConsumersPluginOptions {
  consumers: EventConsumer[];
  /** The readiness check's name: it fails once any of them stopped. */
  readiness: string;
  /** 'end': a group with no committed offsets begins at the topics' ends (tests, throwaway projectors). */
  startAt: 'committed' | 'end';
  /** In front of every topic consumed (the intake's KAFKA_TOPIC_PREFIX). */
  topicPrefix?: string;
  /** CONSUMER_MAX_ATTEMPTS: tries of a message the handler keeps refusing before it is dead-lettered (default 5). */
  maxAttempts?: number;
}

/**
 * Starts the service's consumer groups (each resolves once it has joined) and stops them first on close:
 * they take work in, so nothing registered before them (relay, producer, stores) may close under them.
 * Poison messages — refused by the contract, or by the handler `maxAttempts` times — go to deadletter.v1
 * with the group that refused them and the reason.
 */
export const consumersPlugin = fp<ConsumersPluginOptions>(
  async (app, opts) => {
    const running: RunningConsumer[] = [];
    // Registered first: a consumer that started before a later one failed to start is stopped too.
    app.addHook('onClose', async () => {
      for (const c of running) await c.stop().catch((e: Error) => app.log.error({ errName: e.name }, 'stopping a consumer failed'));
    });
    for (const c of opts.consumers) {
      const deadLetter = deadLetterTo(app.producer, c.group);
      running.push(
        await startConsumer(app.kafka, {
          groupId: c.group,
          topics: [(opts.topicPrefix ?? '') + c.topic],
          logger: app.log,
          parse: c.parse,
          handle: c.handle,
          deadLetter: c.onDeadLettered
            ? async (msg, reason) => {
                c.onDeadLettered!();
                await deadLetter(msg, reason);
              }
            : deadLetter,
          startAt: opts.startAt,
          ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
          ...(c.fetch ? { fetch: c.fetch } : {}),
        }),
      );
    }
    app.readiness.add(opts.readiness, async () => {
      if (!running.every((c) => c.isRunning)) throw new Error('consumer stopped');
    });
  },
  { name: 'gelombang-consumers', fastify: '5.x', dependencies: ['gelombang-kafka'] },
);
