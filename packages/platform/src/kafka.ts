/*
 * The Kafka client's adapter (docs/decisions/0001-kafka-client.md): services see EventProducer,
 * startConsumer and the platform plugins with plain values, so the client can be swapped here.
 */
import { Kafka, logLevel as KafkaLogLevel, type Batch, type Consumer, type Producer, type Message } from 'kafkajs';
import type { FastifyBaseLogger } from 'fastify';
import { DEADLETTER_V1, deadLetterV1 } from '@gelombang/contracts';
import { backoffMs } from './backoff';
import { waitAtMost } from './timing';
import { stackFrames } from './errors';
import { unavailableKind } from './unavailable';
import { JavaCompatiblePartitioner } from './partitioner';

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  logger: FastifyBaseLogger;
  /** A probe's client: one try per call, a short connection timeout, none of kafkajs' own log lines. */
  probe?: { timeoutMs: number };
}

export function createKafka(opts: KafkaOptions): Kafka {
  const log = opts.logger.child({ component: 'kafka' });
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    connectionTimeout: opts.probe?.timeoutMs ?? 3_000,
    requestTimeout: opts.probe ? opts.probe.timeoutMs : 10_000,
    retry: opts.probe ? { retries: 0 } : { initialRetryTime: 100, retries: 5 },
    logLevel: opts.probe ? KafkaLogLevel.NOTHING : KafkaLogLevel.WARN,
    // kafkajs' own messages carry broker and topic names only, never payloads.
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, timestamp: _t, logger: _l, ...rest } = entry as Record<string, unknown>;
        const fn = level <= KafkaLogLevel.ERROR ? 'error' : 'warn';
        log[fn]({ kafka: rest }, String(message));
      },
  });
}

export class PublishTimeoutError extends Error {
  constructor(ms: number) {
    super(`Kafka did not acknowledge within ${ms} ms`);
    this.name = 'PublishTimeoutError';
  }
}

/** Thrown by `publish` at once while the broker watch knows Kafka is down: no wait for an ack that cannot come. */
export class KafkaUnavailableError extends Error {
  constructor() {
    super('Kafka is unreachable (the last probes failed)');
    this.name = 'KafkaUnavailableError';
  }
}

export interface BrokerWatchOptions {
  /** How often the broker is probed when no produce was acknowledged within this long. */
  intervalMs: number;
  /** A probe with no answer after this long failed. */
  timeoutMs: number;
  logger: FastifyBaseLogger;
}

/**
 * Whether Kafka is there, known within seconds. kafkajs reports a disconnect only after our own
 * `disconnect()`: a broker killed under a connected producer leaves it "connected", and every publish
 * waits out its ack timeout. The watch counts a recent acknowledgement as proof of life; without one
 * within `intervalMs` it asks a broker for metadata (a probe client of its own: no retries). A refused
 * or dropped connection marks Kafka down at once; a probe that only timed out, twice in a row (one slow
 * answer on a loaded machine is not an outage). Any answer or acknowledgement marks it up again.
 */
export class BrokerWatch {
  private down = false;
  private lastOkAt = Date.now();
  private timeouts = 0;
  private probing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: FastifyBaseLogger;

  constructor(
    private readonly probe: () => Promise<unknown>,
    private readonly opts: BrokerWatchOptions,
    /** Closes what the probe opened. */
    private readonly closeProbe: () => Promise<void> = async () => undefined,
  ) {
    this.log = opts.logger.child({ component: 'broker-watch' });
  }

  get isDown(): boolean {
    return this.down;
  }

  start(): void {
    this.timer ??= setInterval(() => {
      if (this.down || Date.now() - this.lastOkAt >= this.opts.intervalMs) void this.check();
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.probing;
    await this.closeProbe();
  }

  /** Kafka answered (an acknowledgement, a probe). */
  alive(): void {
    this.lastOkAt = Date.now();
    this.timeouts = 0;
    if (this.down) {
      this.down = false;
      this.log.info('kafka reachable again');
    }
  }

  /** A produce failed: probe now rather than at the next interval. */
  suspect(): void {
    void this.check();
  }

  /** One probe (shared by concurrent callers); resolves once its verdict is in. */
  check(): Promise<void> {
    this.probing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const verdict = await Promise.race([
        this.probe().then(
          () => 'ok' as const,
          () => 'refused' as const,
        ),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.opts.timeoutMs))),
      ]);
      clearTimeout(timer);
      if (verdict === 'ok') return this.alive();
      if (verdict === 'timeout' && ++this.timeouts < 2) return;
      if (!this.down) this.log.warn({ probe: verdict }, 'kafka unreachable: publishes fail at once until it answers');
      this.down = true;
    })().finally(() => (this.probing = undefined));
    return this.probing;
  }
}

/** A watch over `brokers` with its own probe client (metadata of no topic: the cheapest round trip). */
export function brokerWatch(brokers: string[], clientId: string, opts: BrokerWatchOptions): BrokerWatch {
  const admin = createKafka({ brokers, clientId: `${clientId}-probe`, logger: opts.logger, probe: { timeoutMs: opts.timeoutMs } }).admin();
  let connected: Promise<void> | undefined;
  return new BrokerWatch(
    async () => {
      try {
        await (connected ??= admin.connect());
        await admin.describeCluster();
      } catch (e) {
        connected = undefined;
        await admin.disconnect().catch(() => undefined);
        throw e;
      }
    },
    opts,
    () => admin.disconnect().catch(() => undefined),
  );
}

export interface OutgoingMessage {
  topic: string;
  /** null only to replay a message that had no key (it then goes round robin); every event we publish has one. */
  key: string | null;
  value: string;
  headers?: Record<string, string>;
}

interface Pending extends OutgoingMessage {
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * A producer whose `publish` resolves only once the broker acknowledged with acks=all. Concurrent
 * callers are coalesced into one produce request (kafkajs has no linger of its own): those of one
 * event-loop turn when `lingerMs` is 0, those of `lingerMs` otherwise (Kafka's own producer lingers
 * 5 ms by default since 4.0). That is what makes one-await-per-HTTP-request affordable: at a few
 * hundred requests a second each would otherwise be its own produce request, and on two cores the
 * produce requests, not the messages, were the cost.
 */
export class EventProducer {
  private readonly producer: Producer;
  private queue: Pending[] = [];
  private scheduled: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private inFlight = new Set<Promise<void>>();
  private connected = false;
  private sentBatches = 0;

  constructor(
    kafka: Kafka,
    /**
     * `topicPrefix` goes in front of every topic this producer writes (the outbox relay's and dead
     * letters included): an isolated run — a load test's private intake — then keeps its events out of
     * the shared topics. Empty in every deployment.
     */
    private readonly opts: { maxBatch?: number; ackTimeoutMs: number; lingerMs?: number; topicPrefix?: string; watch?: BrokerWatch },
  ) {
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: JavaCompatiblePartitioner,
      maxInFlightRequests: 5,
    });
    this.producer.on(this.producer.events.CONNECT, () => void (this.connected = true));
    this.producer.on(this.producer.events.DISCONNECT, () => void (this.connected = false));
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Produce requests sent so far (each carries every message queued when it left). */
  get produceRequests(): number {
    return this.sentBatches;
  }

  /** False while the broker watch knows Kafka is down (publishes then fail at once). */
  get isAvailable(): boolean {
    return this.connected && !this.opts.watch?.isDown;
  }

  /**
   * Resolves when stored with acks=all; rejects on error or after `ackTimeoutMs` (it may still land),
   * and at once (KafkaUnavailableError, nothing sent) while the broker watch knows Kafka is down.
   */
  publish(msg: OutgoingMessage): Promise<void> {
    if (this.opts.watch?.isDown) return Promise.reject(new KafkaUnavailableError());
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new PublishTimeoutError(this.opts.ackTimeoutMs));
      }, this.opts.ackTimeoutMs);
      this.queue.push({
        ...msg,
        resolve: () => {
          clearTimeout(timer);
          if (!settled) resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          if (!settled) reject(e);
        },
      });
      if (this.queue.length >= (this.opts.maxBatch ?? 500)) this.flush();
      else if (!this.scheduled) {
        const linger = this.opts.lingerMs ?? 0;
        this.scheduled = linger > 0 ? setTimeout(() => this.flush(), linger) : setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    if (this.scheduled) {
      clearTimeout(this.scheduled as NodeJS.Timeout);
      clearImmediate(this.scheduled as NodeJS.Immediate);
      this.scheduled = undefined;
    }
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.sentBatches++;
    const byTopic = new Map<string, Message[]>();
    const prefix = this.opts.topicPrefix ?? '';
    for (const m of batch) {
      const topic = prefix + m.topic;
      const list = byTopic.get(topic) ?? [];
      list.push({ key: m.key, value: m.value, headers: m.headers });
      byTopic.set(topic, list);
    }
    const send = this.producer
      .sendBatch({
        acks: -1,
        timeout: this.opts.ackTimeoutMs,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      })
      .then(
        () => {
          this.opts.watch?.alive();
          batch.forEach((m) => m.resolve());
        },
        (e: Error) => {
          this.opts.watch?.suspect();
          batch.forEach((m) => m.reject(e));
        },
      )
      .finally(() => this.inFlight.delete(send));
    this.inFlight.add(send);
  }

  /** Sends what is queued, waits for every in-flight batch, then disconnects. */
  async close(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
    await this.producer.disconnect();
  }
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/** A fetched message with plain values (headers as strings), as every consumer here sees it. */
export const consumedMessage = (batch: Batch, m: Batch['messages'][number]): ConsumedMessage => ({
  topic: batch.topic,
  partition: batch.partition,
  offset: m.offset,
  key: m.key?.toString() ?? null,
  value: m.value?.toString() ?? '',
  headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v ?? '')])),
});

export interface ConsumerOptions<T> {
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  /** Validates one message; throwing marks it poison (dead-lettered, then skipped). */
  parse: (msg: ConsumedMessage) => T;
  /** Processes one partition's batch; must be idempotent (delivery is at least once). */
  handle: (items: T[]) => Promise<void>;
  /**
   * Tries of a message the handler keeps refusing — an error that is not a datastore outage (a value
   * PostgreSQL rejects, say) — before it is dead-lettered and the partition moves on (default 5). A
   * datastore outage is retried for as long as it lasts, never counted against a message.
   */
  maxAttempts?: number;
  /** Where poison messages go; the consumer moves on once it is stored. */
  deadLetter: (msg: ConsumedMessage, reason: string) => Promise<void>;
  logger: FastifyBaseLogger;
  partitionsConsumedConcurrently?: number;
  /**
   * Throughput over latency: the broker holds a fetch until this much is waiting (or `maxWaitMs`
   * passed), so a busy topic arrives in fewer, larger batches — fewer transactions and offset commits
   * per message. Default 1 byte: answer as soon as anything is there.
   */
  fetch?: { minBytes: number; maxWaitMs: number };
  joinTimeoutMs?: number;
  /**
   * 'end': a group with no committed offset on a partition begins at its current end instead of its
   * start (tests, throwaway projectors); committed partitions resume as usual. The ends are read before
   * joining, so nothing produced after this call is missed.
   */
  startAt?: 'committed' | 'end';
}

/** A failing batch (its handler threw: the database away, say) is retried after this. */
const RETRY_BACKOFF = { baseMs: 100, maxMs: 5_000 };

export interface RunningConsumer {
  readonly isRunning: boolean;
  stop(): Promise<void>;
}

/**
 * Starts a consumer-group member. Offsets are committed only after `handle` succeeded for the whole
 * batch (or for all of it but the messages it refused, dead-lettered: see handleIsolating); a failing
 * batch is retried with backoff while the consumer runs.
 */
export async function startConsumer<T>(kafka: Kafka, opts: ConsumerOptions<T>): Promise<RunningConsumer> {
  const log = opts.logger.child({ component: 'consumer', groupId: opts.groupId });
  const consumer: Consumer = kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout: 15_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: opts.fetch?.maxWaitMs ?? 100,
    minBytes: opts.fetch?.minBytes ?? 1,
    allowAutoTopicCreation: false,
  });
  let running = false;
  let stopping = false;
  consumer.on(consumer.events.CRASH, (e) => {
    log.error({ errName: (e.payload.error as Error)?.name, restart: e.payload.restart }, 'consumer crashed');
    if (!e.payload.restart) running = false;
  });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  const ends: Array<{ topic: string; partition: number; offset: string }> = [];
  if (opts.startAt === 'end') {
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Only partitions the group never committed start at the end; the rest resume where they were.
      const committed = await whileCoordinatorMoves(() => admin.fetchOffsets({ groupId: opts.groupId, topics: opts.topics }));
      const resumes = new Set(committed.flatMap((t) => t.partitions.filter((p) => Number(p.offset) >= 0).map((p) => `${t.topic}:${p.partition}`)));
      for (const topic of opts.topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) {
          if (!resumes.has(`${topic}:${p.partition}`)) ends.push({ topic, partition: p.partition, offset: p.high });
        }
      }
    } finally {
      await admin.disconnect();
    }
  }
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 3,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const entries: Array<{ msg: ConsumedMessage; item: T }> = [];
        const poison: Array<{ msg: ConsumedMessage; reason: string; errName: string }> = [];
        for (const m of batch.messages) {
          const msg = consumedMessage(batch, m);
          try {
            entries.push({ msg, item: opts.parse(msg) });
          } catch (e) {
            poison.push({ msg, reason: (e as Error).message.slice(0, 500), errName: (e as Error).name });
          }
        }
        const where = { topic: batch.topic, partition: batch.partition };
        if (poison.length > 0) {
          // All of a batch's dead letters at once (they share produce requests): one by one, a broker's
          // worth of foreign events took minutes to get past. Stored before the offset moves past them.
          await Promise.all(poison.map((p) => opts.deadLetter(p.msg, p.reason)));
          const offsets = poison.map((p) => p.msg.offset);
          log.warn(
            {
              ...where,
              count: poison.length,
              offsets: offsets.length <= 10 ? offsets : [offsets[0], '…', offsets[offsets.length - 1]],
              errName: poison[0]!.errName,
            },
            poison.length === 1 ? 'poison message dead-lettered' : 'poison messages dead-lettered',
          );
        }
        const alive = () => isRunning() && !isStale();
        const done = await handleIsolating(entries, {
          handle: (chunk) => opts.handle(chunk.map((e) => e.item)),
          maxAttempts: opts.maxAttempts ?? 5,
          alive,
          onRetry: async (e, attempt, size) => {
            log.error({ errName: (e as Error).name, stack: stackFrames(e), attempt, size, ...where }, 'batch failed, retrying');
            await new Promise((r) => setTimeout(r, backoffMs(attempt, RETRY_BACKOFF)));
            await heartbeat();
          },
          onRefused: async (entry, reason) => {
            await opts.deadLetter(entry.msg, reason);
            log.warn({ ...where, offset: entry.msg.offset, reason }, 'message the handler keeps refusing dead-lettered');
          },
        });
        if (!done) return;
        const last = batch.lastOffset();
        resolveOffset(last);
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
        await heartbeat();
      },
    });
    await seekWhenReady(consumer, ends);
  } catch (e) {
    // Not started: leave the group (and close the connections) rather than hold them for nobody.
    await consumer.disconnect().catch(() => undefined);
    throw e;
  }
  // Resolve once partitions are assigned, so "started" means "consuming" (tests and readiness rely on it).
  await waitAtMost(joined, opts.joinTimeoutMs ?? 30_000);
  running = true;
  return {
    get isRunning() {
      return running && !stopping;
    },
    async stop() {
      stopping = true;
      await consumer.disconnect();
      running = false;
    },
  };
}

/**
 * Runs `handle` over a partition's batch until it succeeds, and finds what it keeps refusing. A failure
 * that is a datastore outage (unavailableKind) is retried for as long as it lasts, counting nothing.
 * Any other failure counts: after `maxAttempts` of them the batch is split in halves, each tried in
 * order (a half that fails is split again), down to single messages; one that still fails after
 * `maxAttempts` tries is handed to `onRefused` (dead-lettered) and the rest go on. Offsets stay in order:
 * everything before a refused message is handled before anything after it. Returns false when the
 * consumer stopped or lost the partition meanwhile (nothing may be committed then).
 */
export async function handleIsolating<E>(
  entries: E[],
  o: {
    handle: (chunk: E[]) => Promise<void>;
    maxAttempts: number;
    alive: () => boolean;
    onRetry: (e: unknown, attempt: number, size: number) => Promise<void>;
    onRefused: (entry: E, reason: string) => Promise<void>;
  },
): Promise<boolean> {
  const run = async (chunk: E[], triesBeforeSplit: number): Promise<boolean> => {
    for (let attempt = 0, refused = 0; ; attempt++) {
      if (!o.alive()) return false;
      try {
        if (chunk.length > 0) await o.handle(chunk);
        return true;
      } catch (e) {
        if (!unavailableKind(e)) refused++;
        if (refused >= triesBeforeSplit) {
          if (chunk.length === 1) {
            await o.onRefused(chunk[0]!, `handler refused it ${refused} times: ${describeFailure(e)}`);
            return true;
          }
          const half = Math.ceil(chunk.length / 2);
          // A half that fails is split at once: its message is found in log2(n) tries more, not n·maxAttempts.
          return (
            (await run(chunk.slice(0, half), half === 1 ? o.maxAttempts : 1)) && (await run(chunk.slice(half), chunk.length - half === 1 ? o.maxAttempts : 1))
          );
        }
        await o.onRetry(e, attempt, chunk.length);
      }
    }
  };
  return run(entries, o.maxAttempts);
}

/** A failure as a dead letter's reason: name, SQLSTATE, message with quoted values left out (they may be data). */
export function describeFailure(e: unknown): string {
  const err = e as { name?: string; code?: unknown; message?: string };
  const code = typeof err?.code === 'string' ? ` ${err.code}` : '';
  const message = String(err?.message ?? '').replace(/"[^"]*"/g, '"…"');
  return `${err?.name ?? 'Error'}${code}: ${message}`.slice(0, 500);
}

export type { Kafka };

/**
 * The dead-letter handler every consumer uses: the poison message as received, with where it came from
 * and why (schema: packages/contracts/src/events/deadletter.v1.ts), on `deadletter.v1`, keyed like the
 * original (or by its position when it had no key). Resolves once Kafka stored it.
 */
export function deadLetterTo(producer: EventProducer, consumerGroup: string): ConsumerOptions<unknown>['deadLetter'] {
  return (msg, reason) =>
    producer.publish({
      topic: DEADLETTER_V1,
      key: msg.key ?? `${msg.topic}:${msg.partition}:${msg.offset}`,
      value: JSON.stringify(
        deadLetterV1.parse({
          originalTopic: msg.topic,
          partition: msg.partition,
          offset: msg.offset,
          consumerGroup,
          reason,
          value: msg.value,
          deadLetteredAt: new Date().toISOString(),
        }),
      ),
    });
}

/**
 * Positions a consumer's partitions. Call after `run()`: kafkajs can resolve `run()` before it has set
 * up the group, and `seek()` throws until it has, so this retries for up to 5 s.
 */
export async function seekWhenReady(consumer: Pick<Consumer, 'seek'>, positions: Array<{ topic: string; partition: number; offset: string }>): Promise<void> {
  for (let tries = 0; positions.length > 0; tries++) {
    try {
      for (const p of positions) consumer.seek(p);
      return;
    } catch (e) {
      if (tries >= 200) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

const COORDINATOR_ERRORS = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']);

/**
 * Retries an admin call while the group coordinator is not there yet — on a broker that just started,
 * `__consumer_offsets` is still being created (seen in CI: "This is not the correct coordinator for
 * this group") — for up to ~30 s. kafkajs's admin does not retry these itself.
 */
export async function whileCoordinatorMoves<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      const type = (e as { type?: string }).type;
      if (!type || !COORDINATOR_ERRORS.has(type) || attempt >= 60) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
