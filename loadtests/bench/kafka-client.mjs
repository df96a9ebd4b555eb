/*
 * Kafka client bench: kafkajs vs @platformatic/kafka on the real broker
 * (decision record: docs/decisions/0001-kafka-client.md).
 *
 *   cd /work/main && npx -y pnpm@10.34.9 --filter @gelombang/loadtests run bench:kafka-client
 *   ... run bench:kafka-client --rounds 1 --count 5000 --drain 20000 --json /tmp/kc.json
 *
 * Needs Node >= 22.22 / 24.6 (@platformatic/kafka 2.x); the package script runs the workspace's
 * Node 24. Broker: KAFKA_BROKERS (default localhost:9092). Every topic and consumer group it uses
 * is created under a random run id and deleted at the end.
 *
 * Once per run, probes: the acks @platformatic/kafka really uses when only its constructor says
 * acks=all; whether both clients put the same key on the same partition; duplicates left by
 * retries when producing right after topic creation.
 * Then per round (rounds alternate which client goes first):
 *  (a) produce: 100 concurrent callers, each loops { build a ~600-byte JSON value, await one
 *      acks=all send, record its latency }; --warmup sends, then --count timed sends. Configurations:
 *      kafkajs naive (one send() per caller); kafkajs coalesced (concurrent callers merged into one
 *      sendBatch per event-loop turn, as EventProducer in packages/platform/src/kafka.ts does);
 *      platformatic naive (one send() per caller); platformatic coalesced (same trick, one send()
 *      with many messages); platformatic ProducerStream (the library's own batching).
 *  (b) drain: 100,000 messages produced once to a fresh topic; each configuration times a fresh
 *      consumer group from connect until every offset was seen (unique offsets per partition),
 *      committing as it goes; the group's committed offsets are checked afterwards.
 *  (c) connection drop: coalesced producers, plain and idempotent; after 30% of --fault-count
 *      sends the client's sockets are reset just after it wrote a request (the broker is not
 *      touched); counts failed sends, stored - acked (duplicates) and time to the next ack.
 * Client CPU per message is process CPU time over the timed part (message building included).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import hdr from 'hdr-histogram-js';
import kafkajs from 'kafkajs';
import * as plt from '@platformatic/kafka';

// ---------------------------------------------------------------------------------------------
// options

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    count: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '2000' },
    callers: { type: 'string', default: '100' },
    drain: { type: 'string', default: '100000' },
    'fault-count': { type: 'string', default: '10000' },
    'skip-produce': { type: 'boolean', default: false },
    'skip-drain': { type: 'boolean', default: false },
    'skip-fault': { type: 'boolean', default: false },
    'skip-probes': { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--')),
  strict: true,
  allowPositionals: false,
});
if (args.help) {
  const src = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  console.log(
    src
      .slice(1, src.indexOf(' */'))
      .map((l) => l.replace(/^ \*\s?/, ''))
      .join('\n'),
  );
  process.exit(0);
}
const int = (name) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
  return n;
};
const ROUNDS = int('rounds');
const COUNT = int('count');
const WARMUP = int('warmup');
const CALLERS = int('callers');
const DRAIN = int('drain');
const FAULT_COUNT = int('fault-count');
const BROKERS = (process.env.KAFKA_BROKERS ?? 'localhost:9092')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const BROKER_PORTS = new Set(BROKERS.map((b) => Number(b.split(':').pop())));
const PARTITIONS = 6;
const SEND_TIMEOUT_MS = 10_000;
const RUN = randomUUID().slice(0, 8);
const topicName = (what) => `bench.kafka-client-${RUN}.${what}.v1`;

function packageVersion(specifier) {
  let dir = dirname(fileURLToPath(import.meta.resolve(specifier)));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === specifier) return pkg.version;
    } catch {
      /* keep walking up */
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}
const VERSIONS = { node: process.version, kafkajs: packageVersion('kafkajs'), platformatic: packageVersion('@platformatic/kafka') };

// ---------------------------------------------------------------------------------------------
// observation: process warnings, kafkajs log lines, sockets to the broker (for the drop test)

let phase = 'setup';
const warnings = [];
process.on('warning', (w) => warnings.push({ phase, name: w.name, message: String(w.message).split('\n')[0].slice(0, 160) }));

const kafkajsLogs = [];
const kafkajsLogCreator =
  () =>
  ({ level, log }) => {
    if (level <= kafkajs.logLevel.WARN) {
      kafkajsLogs.push({
        phase,
        level: level <= kafkajs.logLevel.ERROR ? 'error' : 'warn',
        message: String(log.message).slice(0, 160),
        error: log.error ? String(log.error).slice(0, 120) : undefined,
      });
    }
  };

// Every socket is tagged with the label current when it connected, so the drop test can reset
// exactly the connections of the client under test (both clients use net.Socket#connect). Once
// armed, the next request written on such a socket triggers the reset right after it went out,
// so a request is in flight (possibly already applied by the broker) when the connection dies.
let socketTag = 'other';
const sockets = new Map();
let armed;
const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function taggedConnect(...args) {
  const tag = socketTag;
  sockets.set(this, tag);
  this.once('close', () => sockets.delete(this));
  const result = originalConnect.apply(this, args);
  // Wrapped after connect(): Socket#connect resets an own `write` property.
  const write = this.write;
  this.write = function armedWrite(...w) {
    const r = write.apply(this, w);
    if (armed && armed.tag === tag && BROKER_PORTS.has(this.remotePort)) {
      const a = armed;
      armed = undefined;
      setImmediate(() => {
        a.at = process.hrtime.bigint();
        a.count = resetSockets(tag);
      });
    }
    return r;
  };
  return result;
};
function resetSockets(tag) {
  let n = 0;
  for (const [s, t] of sockets) {
    if (t === tag && !s.destroyed && BROKER_PORTS.has(s.remotePort)) {
      s.destroy(Object.assign(new Error('bench: simulated connection reset'), { code: 'ECONNRESET' }));
      n++;
    }
  }
  return n;
}
function armReset(tag) {
  armed = { tag };
  return armed;
}

// ---------------------------------------------------------------------------------------------
// clients

const newKafkajs = (clientId) =>
  new kafkajs.Kafka({
    clientId,
    brokers: BROKERS,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, retries: 5 },
    logLevel: kafkajs.logLevel.WARN,
    logCreator: kafkajsLogCreator,
  });
// Same producer options as packages/platform/src/kafka.ts (EventProducer).
const KAFKAJS_PRODUCER = { allowAutoTopicCreation: false, createPartitioner: kafkajs.Partitioners.DefaultPartitioner, maxInFlightRequests: 5 };
// The closest @platformatic/kafka equivalents of the kafkajs settings above.
const pltBase = (clientId) => ({
  clientId,
  bootstrapBrokers: BROKERS,
  connectTimeout: 3_000,
  requestTimeout: 10_000,
  timeout: SEND_TIMEOUT_MS,
  retries: 5,
  retryDelay: 100,
});
const newPltProducer = (clientId, extra = {}) => new plt.Producer({ ...pltBase(clientId), serializers: plt.stringSerializers, ...extra });

const kjsAdminClient = newKafkajs(`bench-admin-${RUN}`);
let kjsAdmin;
let pltAdmin;
const createdTopics = { kafkajs: [], platformatic: [] };
const createdGroups = [];

async function createTopic(client, what) {
  const topic = topicName(what);
  if (client === 'kafkajs') {
    await kjsAdmin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
    createdTopics.kafkajs.push(topic);
  } else {
    await pltAdmin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
    createdTopics.platformatic.push(topic);
    // createTopics does not wait for leaders; poll metadata until every partition has one.
    for (let i = 0; ; i++) {
      const md = await pltAdmin.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined);
      const t = md?.topics.get(topic);
      if (t && t.partitionsCount === PARTITIONS && t.partitions.every((p) => p.leader >= 0)) break;
      if (i > 100) throw new Error(`no leaders for ${topic}`);
      await sleep(100);
    }
  }
  return topic;
}

async function storedCount(topic) {
  const offsets = await kjsAdmin.fetchTopicOffsets(topic);
  return offsets.reduce((s, p) => s + (Number(p.high) - Number(p.low)), 0);
}
async function partitionEnds(topic) {
  const offsets = await kjsAdmin.fetchTopicOffsets(topic);
  const ends = new Array(PARTITIONS).fill(0);
  for (const p of offsets) ends[p.partition] = Number(p.high);
  return ends;
}
async function committedCount(groupId, topic) {
  const [res] = await kjsAdmin.fetchOffsets({ groupId, topics: [topic] });
  return (res?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
}

// ---------------------------------------------------------------------------------------------
// messages, histogram, coalescing

const VALUE_BYTES = 600;
function makeMessage(seq) {
  const id = randomUUID();
  const body = {
    type: 'registration.submitted',
    v: 1,
    id,
    seq,
    at: new Date().toISOString(),
    nik: `3174${String(seq % 1e12).padStart(12, '0')}`,
    email: `peserta${seq}@contoh.test`,
    name: 'Peserta Uji Beban',
    region: '31.74.05',
    pad: '',
  };
  body.pad = 'x'.repeat(Math.max(0, VALUE_BYTES - JSON.stringify(body).length));
  return { key: id, value: JSON.stringify(body) };
}
const newHistogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 }); // µs

/** Concurrent callers -> one batch per event-loop turn (the EventProducer idea, without its ack timer). */
class Coalescer {
  constructor(sendBatch, maxBatch = 500) {
    this.sendBatch = sendBatch;
    this.maxBatch = maxBatch;
    this.queue = [];
    this.scheduled = false;
    this.inFlight = new Set();
    this.batches = 0;
  }
  send(msg) {
    return new Promise((resolve, reject) => {
      this.queue.push({ msg, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }
  flush() {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.batches++;
    const p = this.sendBatch(batch.map((b) => b.msg))
      .then(
        () => batch.forEach((b) => b.resolve()),
        (e) => batch.forEach((b) => b.reject(e)),
      )
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }
  async close() {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }
}

// ---------------------------------------------------------------------------------------------
// (a) produce configurations: open(topic) -> { send(msg), close(), batches?() }

const produceConfigs = [
  {
    name: 'kafkajs-naive',
    client: 'kafkajs',
    label: 'kafkajs, one `send()` per caller',
    async open(topic) {
      const producer = newKafkajs('bench-kjs-naive').producer(KAFKAJS_PRODUCER);
      await producer.connect();
      return {
        send: (m) => producer.send({ topic, acks: -1, timeout: SEND_TIMEOUT_MS, messages: [m] }),
        close: () => producer.disconnect(),
      };
    },
  },
  {
    name: 'kafkajs-coalesced',
    client: 'kafkajs',
    label: 'kafkajs, coalesced `sendBatch()` per event-loop turn (our EventProducer)',
    async open(topic) {
      const producer = newKafkajs('bench-kjs-coalesced').producer(KAFKAJS_PRODUCER);
      await producer.connect();
      const c = new Coalescer((messages) => producer.sendBatch({ acks: -1, timeout: SEND_TIMEOUT_MS, topicMessages: [{ topic, messages }] }));
      return {
        send: (m) => c.send(m),
        close: async () => {
          await c.close();
          await producer.disconnect();
        },
        batches: () => c.batches,
      };
    },
  },
  {
    name: 'platformatic-naive',
    client: 'platformatic',
    label: '@platformatic/kafka, one `send()` per caller',
    async open(topic) {
      const producer = newPltProducer('bench-plt-naive');
      // acks must be given to send(): the constructor's `acks` is not applied (see the probe).
      return {
        send: (m) => producer.send({ acks: plt.ProduceAcks.ALL, messages: [{ topic, key: m.key, value: m.value }] }),
        close: () => producer.close(),
      };
    },
  },
  {
    name: 'platformatic-coalesced',
    client: 'platformatic',
    label: '@platformatic/kafka, coalesced `send()` per event-loop turn',
    async open(topic) {
      const producer = newPltProducer('bench-plt-coalesced');
      const c = new Coalescer((messages) =>
        producer.send({ acks: plt.ProduceAcks.ALL, messages: messages.map((m) => ({ topic, key: m.key, value: m.value })) }),
      );
      return {
        send: (m) => c.send(m),
        close: async () => {
          await c.close();
          await producer.close();
        },
        batches: () => c.batches,
      };
    },
  },
  {
    name: 'platformatic-stream',
    client: 'platformatic',
    label: '@platformatic/kafka `ProducerStream` (library batching: batchSize 100, batchTime 10 ms), per-message delivery reports',
    async open(topic) {
      const producer = newPltProducer('bench-plt-stream');
      const stream = producer.asStream({ acks: plt.ProduceAcks.ALL, reportMode: plt.ProducerStreamReportModes.MESSAGE });
      const pending = new Map();
      let batches = 0;
      stream.on('flush', () => batches++);
      stream.on('delivery-report', (r) => {
        const p = pending.get(r.message);
        if (p) {
          pending.delete(r.message);
          p.resolve();
        }
      });
      stream.on('error', (e) => {
        for (const p of pending.values()) p.reject(e);
        pending.clear();
      });
      return {
        send: (m) =>
          new Promise((resolve, reject) => {
            const msg = { topic, key: m.key, value: m.value };
            pending.set(msg, { resolve, reject });
            stream.write(msg);
          }),
        close: async () => {
          await stream.close();
          await producer.close();
        },
        batches: () => batches,
      };
    },
  },
];

// Idempotent variants (used by the connection-drop test only): both clients then allow one
// request in flight per connection.
const idempotentConfigs = [
  {
    name: 'kafkajs-coalesced-idempotent',
    client: 'kafkajs',
    async open(topic) {
      const producer = newKafkajs('bench-kjs-idem').producer({ ...KAFKAJS_PRODUCER, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const c = new Coalescer((messages) => producer.sendBatch({ acks: -1, timeout: SEND_TIMEOUT_MS, topicMessages: [{ topic, messages }] }));
      return { send: (m) => c.send(m), close: async () => (await c.close(), await producer.disconnect()) };
    },
  },
  {
    name: 'platformatic-coalesced-idempotent',
    client: 'platformatic',
    async open(topic) {
      const producer = newPltProducer('bench-plt-idem', { idempotent: true });
      const c = new Coalescer((messages) =>
        producer.send({ acks: plt.ProduceAcks.ALL, messages: messages.map((m) => ({ topic, key: m.key, value: m.value })) }),
      );
      return { send: (m) => c.send(m), close: async () => (await c.close(), await producer.close()) };
    },
  },
];
const FAULT_CONFIGS = {
  kafkajs: ['kafkajs-coalesced', 'kafkajs-coalesced-idempotent'],
  platformatic: ['platformatic-coalesced', 'platformatic-coalesced-idempotent'],
};
const configByName = (name) => [...produceConfigs, ...idempotentConfigs].find((c) => c.name === name);

async function runCallers(send, total, { histogram, onResult } = {}) {
  let issued = 0;
  let ok = 0;
  const errors = new Map();
  const worker = async () => {
    while (issued < total) {
      const seq = issued++;
      const msg = makeMessage(seq);
      const t0 = process.hrtime.bigint();
      try {
        await send(msg);
        ok++;
        histogram?.recordValue(Math.max(1, Number((process.hrtime.bigint() - t0) / 1000n)));
        onResult?.(true, t0);
      } catch (e) {
        const k = `${e?.name ?? 'Error'}: ${String(e?.message ?? e).slice(0, 100)}`;
        errors.set(k, (errors.get(k) ?? 0) + 1);
        onResult?.(false, t0, e);
      }
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, worker));
  return { ok, errors: Object.fromEntries(errors) };
}

async function runProduce(cfg, topic) {
  phase = `produce:${cfg.name}`;
  socketTag = phase;
  const before = await storedCount(topic);
  const h = await cfg.open(topic);
  const warm = await runCallers(h.send, WARMUP);
  const batches0 = h.batches?.() ?? 0;
  const histogram = newHistogram();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const timed = await runCallers(h.send, COUNT, { histogram });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const batches = (h.batches?.() ?? 0) - batches0;
  await h.close();
  socketTag = 'other';
  const stored = (await storedCount(topic)) - before;
  const r = {
    msgsPerSec: Math.round(COUNT / (ms / 1000)),
    p50ms: histogram.getValueAtPercentile(50) / 1000,
    p99ms: histogram.getValueAtPercentile(99) / 1000,
    maxMs: histogram.maxValue / 1000,
    seconds: ms / 1000,
    cpuUsPerMsg: Math.round(((cpu.user + cpu.system) / COUNT) * 10) / 10,
    avgBatch: batches ? Math.round((COUNT / batches) * 10) / 10 : undefined,
    errors: warm.ok + timed.ok === WARMUP + COUNT ? 0 : WARMUP + COUNT - warm.ok - timed.ok,
    errorKinds: { ...warm.errors, ...timed.errors },
    stored,
    expected: WARMUP + COUNT,
  };
  console.log(
    `  ${cfg.name.padEnd(24)} ${String(r.msgsPerSec).padStart(6)} msg/s  p50 ${r.p50ms.toFixed(1)} ms  p99 ${r.p99ms.toFixed(1)} ms  max ${r.maxMs.toFixed(1)} ms  cpu ${r.cpuUsPerMsg} µs/msg` +
      `${r.avgBatch ? `  avg batch ${r.avgBatch}` : ''}  stored ${stored}/${r.expected}${r.errors ? `  ERRORS ${r.errors} ${JSON.stringify(r.errorKinds)}` : ''}`,
  );
  return r;
}

// ---------------------------------------------------------------------------------------------
// (b) drain configurations: run(topic, groupId, tracker) -> stop()

class DrainTracker {
  constructor(ends) {
    this.seen = ends.map((n) => new Uint8Array(n));
    this.expected = ends.reduce((a, b) => a + b, 0);
    this.unique = 0;
    this.duplicates = 0;
    this.t0 = performance.now();
    this.cpu0 = process.cpuUsage();
    this.cpu = undefined;
    this.firstAt = undefined;
    this.doneAt = undefined;
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }
  add(partition, offset) {
    const o = Number(offset);
    const arr = this.seen[partition];
    this.firstAt ??= performance.now();
    if (!arr || o >= arr.length) return;
    if (arr[o]) this.duplicates++;
    else {
      arr[o] = 1;
      if (++this.unique === this.expected) {
        this.doneAt = performance.now();
        this.cpu = process.cpuUsage(this.cpu0);
        this.resolve();
      }
    }
  }
  get complete() {
    return this.unique === this.expected;
  }
}

const drainConfigs = [
  {
    name: 'kafkajs-eachBatch',
    client: 'kafkajs',
    label: 'kafkajs `eachBatch`, commit per batch, 3 partitions concurrently (our startConsumer)',
    async run(topic, groupId, tracker) {
      const consumer = newKafkajs('bench-kjs-drain').consumer({
        groupId,
        sessionTimeout: 15_000,
        heartbeatInterval: 3_000,
        maxWaitTimeInMs: 100,
        allowAutoTopicCreation: false,
      });
      let commitErrors = 0;
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 3,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          for (const m of batch.messages) {
            m.value?.toString();
            tracker.add(batch.partition, m.offset);
          }
          if (!isRunning() || isStale()) return;
          const last = batch.lastOffset();
          resolveOffset(last);
          await consumer
            .commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }])
            .catch(() => commitErrors++);
          await heartbeat().catch(() => {});
        },
      });
      return async () => {
        await consumer.disconnect();
        return { commitErrors };
      };
    },
  },
  {
    name: 'kafkajs-eachMessage',
    client: 'kafkajs',
    label: 'kafkajs `eachMessage`, default autoCommit',
    async run(topic, groupId, tracker) {
      const consumer = newKafkajs('bench-kjs-drain').consumer({ groupId, allowAutoTopicCreation: false });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          message.value?.toString();
          tracker.add(partition, message.offset);
        },
      });
      return async () => {
        await consumer.disconnect();
        return {};
      };
    },
  },
  {
    name: 'platformatic-manual',
    client: 'platformatic',
    label: '@platformatic/kafka stream (`for await`), `autocommit: false`, `message.commit()` after each message',
    async run(topic, groupId, tracker) {
      return pltDrain(topic, groupId, tracker, true);
    },
  },
  {
    name: 'platformatic-autocommit',
    client: 'platformatic',
    label: '@platformatic/kafka stream (`for await`), default `autocommit: true`',
    async run(topic, groupId, tracker) {
      return pltDrain(topic, groupId, tracker, false);
    },
  },
];

async function pltDrain(topic, groupId, tracker, manual) {
  const consumer = new plt.Consumer({
    ...pltBase('bench-plt-drain'),
    groupId,
    deserializers: plt.stringDeserializers,
    sessionTimeout: 15_000,
    heartbeatInterval: 3_000,
    ...(manual ? { autocommit: false, maxWaitTime: 100 } : {}),
  });
  // The default mode is LATEST (ignores committed offsets); COMMITTED + EARLIEST is the group way.
  const stream = await consumer.consume({ topics: [topic], mode: plt.MessagesStreamModes.COMMITTED, fallbackMode: plt.MessagesStreamFallbackModes.EARLIEST });
  let commitErrors = 0;
  let streamError;
  const lastCommit = new Map();
  const loop = (async () => {
    for await (const m of stream) {
      tracker.add(m.partition, m.offset);
      if (manual) {
        const p = m.commit();
        p?.catch?.(() => commitErrors++);
        lastCommit.set(m.partition, p);
      }
      if (tracker.complete) {
        await Promise.race([Promise.allSettled([...lastCommit.values()]), sleep(5_000)]);
        break;
      }
    }
  })().catch((e) => (streamError = e));
  return async () => {
    if (!tracker.complete) await stream.close().catch(() => {});
    await loop;
    await consumer.close(true);
    return { commitErrors, streamError: streamError ? String(streamError) : undefined };
  };
}

async function runDrain(cfg, topic, ends, round) {
  phase = `drain:${cfg.name}`;
  socketTag = phase;
  const groupId = `bench.kafka-client-${RUN}.${cfg.name}.${round}`;
  createdGroups.push(groupId);
  const tracker = new DrainTracker(ends);
  const stop = await cfg.run(topic, groupId, tracker);
  const timeout = sleep(180_000).then(() => 'timeout');
  const outcome = await Promise.race([tracker.done.then(() => 'done'), timeout]);
  const end = tracker.doneAt ?? performance.now();
  const extra = await stop();
  socketTag = 'other';
  await sleep(300);
  const committed = await committedCount(groupId, topic).catch(() => -1);
  const seconds = (end - tracker.t0) / 1000;
  const r = {
    seconds,
    msgsPerSec: Math.round(tracker.unique / seconds),
    cpuUsPerMsg: tracker.cpu ? Math.round(((tracker.cpu.user + tracker.cpu.system) / tracker.unique) * 10) / 10 : undefined,
    firstMessageMs: tracker.firstAt ? Math.round(tracker.firstAt - tracker.t0) : undefined,
    unique: tracker.unique,
    expected: tracker.expected,
    duplicates: tracker.duplicates,
    committed,
    outcome,
    ...extra,
  };
  console.log(
    `  ${cfg.name.padEnd(24)} ${seconds.toFixed(2).padStart(6)} s  ${String(r.msgsPerSec).padStart(6)} msg/s  cpu ${r.cpuUsPerMsg} µs/msg  first msg ${r.firstMessageMs} ms  unique ${r.unique}/${r.expected}` +
      `  dup ${r.duplicates}  committed ${committed}${outcome !== 'done' ? '  TIMEOUT' : ''}${extra.commitErrors ? `  commitErrors ${extra.commitErrors}` : ''}${extra.streamError ? `  streamError ${extra.streamError}` : ''}`,
  );
  return r;
}

async function fillDrainTopic(topic, total) {
  phase = 'drain:fill';
  const producer = newKafkajs('bench-fill').producer(KAFKAJS_PRODUCER);
  await producer.connect();
  const t0 = performance.now();
  let next = 0;
  const BATCH = 1_000;
  const worker = async () => {
    while (next < total) {
      const from = next;
      next = Math.min(total, next + BATCH);
      const messages = [];
      for (let i = from; i < next; i++) messages.push(makeMessage(i));
      await producer.sendBatch({ acks: -1, timeout: 30_000, topicMessages: [{ topic, messages }] });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  await producer.disconnect();
  const ends = await partitionEnds(topic);
  console.log(
    `  filled ${topic}: ${ends.reduce((a, b) => a + b, 0)} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s, per partition ${ends.join('/')}`,
  );
  return ends;
}

// ---------------------------------------------------------------------------------------------
// probes and the connection-drop test

async function probes() {
  phase = 'probe';
  const topic = await createTopic('platformatic', 'probe');
  const out = {};

  // 1. Is the Producer constructor's `acks` used by send()? send() fills in options.acks when absent.
  const p1 = newPltProducer('bench-probe-acks', { acks: plt.ProduceAcks.ALL });
  const sendOpts = { messages: [{ topic, key: 'probe', value: 'probe' }] };
  await p1.send(sendOpts);
  out.platformaticAcksWhenConstructorSaysAll = sendOpts.acks;
  await p1.close();

  // 2. Same key -> same partition across the clients? (as stored by the broker)
  const keys = Array.from({ length: 300 }, () => randomUUID());
  const kp = newKafkajs('bench-probe-part').producer(KAFKAJS_PRODUCER);
  await kp.connect();
  const pd = newPltProducer('bench-probe-part');
  const pc = newPltProducer('bench-probe-part-compat', { partitioner: plt.compatibilityPartitioner });
  let diffDefault = 0;
  let diffCompat = 0;
  for (const key of keys) {
    const [a] = await kp.send({ topic, acks: -1, messages: [{ key, value: 'p' }] });
    const b = await pd.send({ acks: plt.ProduceAcks.ALL, messages: [{ topic, key, value: 'p' }] });
    const c = await pc.send({ acks: plt.ProduceAcks.ALL, messages: [{ topic, key, value: 'p' }] });
    if (b.offsets[0].partition !== a.partition) diffDefault++;
    if (c.offsets[0].partition !== a.partition) diffCompat++;
  }
  await kp.disconnect();
  await pd.close();
  await pc.close();
  out.partitionerKeys = keys.length;

  // 3. Produce right after topic creation (created by the platformatic Admin, which returns before
  // the partitions accept writes; leaders are polled from metadata first). Producers are connected
  // beforehand; each sends 5 batches of 100 at once to 3 fresh topics in turn. stored - acked
  // counts duplicates left by retried partial failures (non-idempotent producers).
  const kjsFresh = newKafkajs('bench-probe-fresh').producer(KAFKAJS_PRODUCER);
  await kjsFresh.connect();
  const pltFresh = newPltProducer('bench-probe-fresh');
  await pltFresh.metadata({ topics: [topic] });
  const freshSend = {
    kafkajs: (t, messages) => kjsFresh.sendBatch({ acks: -1, timeout: SEND_TIMEOUT_MS, topicMessages: [{ topic: t, messages }] }),
    platformatic: (t, messages) => pltFresh.send({ acks: plt.ProduceAcks.ALL, messages: messages.map((m) => ({ topic: t, ...m })) }),
  };
  out.freshTopicDuplicates = { kafkajs: [], platformatic: [] };
  for (let i = 0; i < 3; i++) {
    for (const client of i % 2 ? ['platformatic', 'kafkajs'] : ['kafkajs', 'platformatic']) {
      const t = await createTopic('platformatic', `fresh-${client}-${i}`);
      let acked = 0;
      for (let b = 0; b < 5; b++) {
        const messages = Array.from({ length: 100 }, (_, j) => makeMessage(b * 100 + j));
        await freshSend[client](t, messages);
        acked += messages.length;
      }
      out.freshTopicDuplicates[client].push((await storedCount(t)) - acked);
    }
  }
  await kjsFresh.disconnect();
  await pltFresh.close();
  out.platformaticDefaultPartitionerDiffersFromKafkajs = diffDefault;
  out.platformaticCompatibilityPartitionerDiffersFromKafkajs = diffCompat;
  console.log(`  probes: ${JSON.stringify(out)}`);
  return out;
}

async function faultTest(cfg, topic) {
  phase = `fault:${cfg.name}`;
  socketTag = phase;
  const h = await cfg.open(topic);
  await runCallers(h.send, 200); // connect + metadata
  let acked = 0;
  let drop;
  let firstOkAfterDrop;
  let failedAfterDrop = 0;
  const histogram = newHistogram();
  const res = await runCallers(h.send, FAULT_COUNT, {
    histogram,
    onResult(ok, t0) {
      if (ok) {
        acked++;
        if (drop?.at !== undefined && firstOkAfterDrop === undefined && t0 > drop.at) firstOkAfterDrop = process.hrtime.bigint();
        if (acked === Math.floor(FAULT_COUNT * 0.3)) drop = armReset(phase);
      } else if (drop?.at !== undefined) failedAfterDrop++;
    },
  });
  const dropAt = drop?.at;
  const resetCount = drop?.count ?? 0;
  // Still usable afterwards?
  let usableAfter = true;
  try {
    await h.send(makeMessage(0));
  } catch {
    usableAfter = false;
  }
  await h.close().catch(() => {});
  socketTag = 'other';
  const stored = await storedCount(topic);
  const sent = 200 + FAULT_COUNT + 1;
  const r = {
    socketsReset: resetCount,
    acked: res.ok,
    failed: FAULT_COUNT - res.ok,
    failedAfterDrop,
    errorKinds: res.errors,
    recoveryMs: firstOkAfterDrop ? Number(firstOkAfterDrop - dropAt) / 1e6 : undefined,
    maxLatencyMs: histogram.maxValue / 1000,
    p99ms: histogram.getValueAtPercentile(99) / 1000,
    usableAfter,
    storedMinusAcked: stored - (200 + res.ok + (usableAfter ? 1 : 0)),
    sent,
  };
  console.log(`  fault ${cfg.name.padEnd(24)} ${JSON.stringify(r)}`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// report

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, d = 0) => (x === undefined ? '—' : Number(x).toFixed(d));

function reportTable(results) {
  const cell = (rs, key, d = 0) => {
    const xs = rs.map((r) => r[key]).filter((x) => typeof x === 'number' && Number.isFinite(x));
    if (!xs.length) return '—';
    const f = (x) => Number(x).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return f(lo) === f(hi) ? f(lo) : `${f(median(xs))} (${f(lo)}–${f(hi)})`;
  };
  const lines = [
    `| test | configuration | msgs/s | (a) p99 of one awaited send, ms · (b) time to drain, s | client CPU, µs/msg | notes |`,
    '| --- | --- | ---: | ---: | ---: | --- |',
  ];
  for (const cfg of produceConfigs) {
    const rs = results.produce[cfg.name] ?? [];
    if (!rs.length) continue;
    const batch = rs[0].avgBatch ? `avg batch ${cell(rs, 'avgBatch', 1)}` : '';
    lines.push(
      `| (a) | ${cfg.label} | ${cell(rs, 'msgsPerSec')} | ${cell(rs, 'p99ms', 1)} | ${cell(rs, 'cpuUsPerMsg', 1)} | p50 ${cell(rs, 'p50ms', 1)} ms${batch ? `; ${batch}` : ''} |`,
    );
  }
  for (const cfg of drainConfigs) {
    const rs = results.drain[cfg.name] ?? [];
    if (!rs.length) continue;
    lines.push(
      `| (b) | ${cfg.label} | ${cell(rs, 'msgsPerSec')} | ${cell(rs, 'seconds', 2)} | ${cell(rs, 'cpuUsPerMsg', 1)} | first message after ${cell(rs, 'firstMessageMs')} ms |`,
    );
  }
  const fault = Object.entries(results.fault ?? {});
  if (fault.length) {
    lines.push('', 'connection drop (per run: failed sends / stored − acked / ms from the reset to the next ack):');
    for (const [name, rs] of fault)
      lines.push(`  ${name.padEnd(34)} ${rs.map((r) => `${r.failed} / ${r.storedMinusAcked} / ${fmt(r.recoveryMs)}`).join('   ')}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// main

async function cleanup() {
  phase = 'cleanup';
  socketTag = 'other';
  if (kjsAdmin && createdGroups.length) await kjsAdmin.deleteGroups(createdGroups).catch((e) => console.error(`  deleteGroups: ${e.message}`));
  // kafkajs first: its admin refreshes metadata for every topic it has looked at, and fails
  // (UNKNOWN_TOPIC_OR_PARTITION) if one of them was already deleted by the other client.
  if (kjsAdmin && createdTopics.kafkajs.length)
    await kjsAdmin.deleteTopics({ topics: createdTopics.kafkajs, timeout: 10_000 }).catch((e) => console.error(`  kafkajs deleteTopics: ${e.message}`));
  if (pltAdmin && createdTopics.platformatic.length)
    await pltAdmin.deleteTopics({ topics: createdTopics.platformatic }).catch((e) => console.error(`  platformatic deleteTopics: ${e.message}`));
  await pltAdmin?.close().catch(() => {});
  await kjsAdmin?.disconnect().catch(() => {});
  console.log(`  deleted ${createdTopics.kafkajs.length + createdTopics.platformatic.length} topics, ${createdGroups.length} groups`);
}

async function main() {
  console.log(`kafka-client bench run ${RUN}: ${JSON.stringify(VERSIONS)}, brokers ${BROKERS.join(',')}`);
  console.log(`  rounds ${ROUNDS}, ${CALLERS} callers, warm-up ${WARMUP} + ${COUNT} timed sends per configuration, drain ${DRAIN}`);
  kjsAdmin = kjsAdminClient.admin();
  await kjsAdmin.connect();
  pltAdmin = new plt.Admin(pltBase(`bench-admin-${RUN}`));
  const results = {
    run: RUN,
    date: new Date().toISOString(),
    versions: VERSIONS,
    settings: { ROUNDS, COUNT, WARMUP, CALLERS, DRAIN, FAULT_COUNT },
    produce: {},
    drain: {},
    fault: {},
  };

  if (!args['skip-probes']) results.probes = await probes();

  const produceTopics = {};
  if (!args['skip-produce']) for (const cfg of produceConfigs) produceTopics[cfg.name] = await createTopic(cfg.client, cfg.name);
  // Created up front: right after creation a partition can still answer NOT_LEADER_OR_FOLLOWER
  // (see the fresh-topic probe), which would add retry duplicates of its own to the drop test.
  const faultTopics = [];
  if (!args['skip-fault'] && FAULT_COUNT > 0) {
    for (let round = 0; round < ROUNDS; round++) {
      faultTopics[round] = {};
      for (const [client, names] of Object.entries(FAULT_CONFIGS)) {
        for (const name of names) faultTopics[round][name] = await createTopic(client, `fault-${name}-${round + 1}`);
      }
    }
  }
  let drainTopic;
  let ends;
  if (!args['skip-drain'] && DRAIN > 0) {
    drainTopic = await createTopic('kafkajs', 'drain');
    ends = await fillDrainTopic(drainTopic, DRAIN);
  }

  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['kafkajs', 'platformatic'] : ['platformatic', 'kafkajs'];
    console.log(`round ${round + 1}/${ROUNDS} (${order.join(' first, then ')})`);
    if (!args['skip-produce']) {
      for (const client of order) {
        for (const cfg of produceConfigs.filter((c) => c.client === client)) {
          await sleep(1_000);
          (results.produce[cfg.name] ??= []).push(await runProduce(cfg, produceTopics[cfg.name]));
        }
      }
    }
    if (drainTopic) {
      for (const client of order) {
        for (const cfg of drainConfigs.filter((c) => c.client === client)) {
          await sleep(1_000);
          (results.drain[cfg.name] ??= []).push(await runDrain(cfg, drainTopic, ends, round));
        }
      }
    }
    if (!args['skip-fault'] && FAULT_COUNT > 0) {
      console.log("  connection drop: after 30% of the sends, the client's sockets are reset just after it wrote a request (broker untouched)");
      for (const name of order.flatMap((c) => FAULT_CONFIGS[c])) {
        await sleep(1_000);
        (results.fault[name] ??= []).push(await faultTest(configByName(name), faultTopics[round][name]));
      }
    }
  }

  results.warnings = warnings;
  results.kafkajsLogs = kafkajsLogs;
  console.log('\n' + reportTable(results) + '\n');
  const tally = (items, key) => {
    const m = new Map();
    for (const it of items) m.set(key(it), (m.get(key(it)) ?? 0) + 1);
    return [...m];
  };
  const w = tally(warnings, (x) => `${x.name}: ${x.message} [${x.phase}]`);
  console.log(`process warnings: ${w.length ? '' : 'none'}`);
  for (const [k, n] of w) console.log(`  ${n} × ${k}`);
  const l = tally(kafkajsLogs, (x) => `${x.level} ${x.message}${x.error ? ` (${x.error})` : ''} [${x.phase}]`);
  console.log(`kafkajs warn/error log lines: ${l.length ? '' : 'none'}`);
  for (const [k, n] of l) console.log(`  ${n} × ${k}`);
  if (args.json)
    writeFileSync(
      args.json,
      JSON.stringify(results, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2),
    );
  return results;
}

let cleaning;
const doCleanup = () => (cleaning ??= cleanup());
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, async () => {
    console.error(`\n${sig}: cleaning up`);
    await doCleanup();
    process.exit(130);
  });
}
try {
  await main();
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await doCleanup();
}
// Clients may leave timers (metadata refresh, reconnect back-off) behind.
setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref();
