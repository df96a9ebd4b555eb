import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { DEADLETTER_V1, NIK_VERIFICATION_REQUESTED_V1, REGISTRATION_STATUS_CHANGED_V1, REGISTRATION_SUBMITTED_V1 } from '@gelombang/contracts';
import { generateSessionKeys, withKafkaAdmin } from '@gelombang/platform';
import { groupLag, newKafka } from './kafka';
import { freePort, spawnNode, waitForHttp, type NodeProcess } from './processes';

/** The built intake; started as a process, never imported. */
export const INTAKE_SERVER = resolve(__dirname, '..', '..', 'services', 'intake', 'dist', 'server.js');

export const SCHEMA_RE = /^[a-z_][a-z0-9_]*$/;

/** How the local cluster runs each process (`./gelombang start`); a started intake runs the same way. */
export const SERVICES_FILE = resolve(__dirname, '..', '..', 'infra', 'services.txt');

/** A process's `KEY=VALUE` settings in infra/services.txt (its port is the caller's to choose). */
export function serviceSettings(name: string, file: string = SERVICES_FILE): Record<string, string> {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [first, , , ...words] = line.trim().split(/\s+/);
    if (first !== name) continue;
    return Object.fromEntries(
      words.map((word) => {
        const eq = word.indexOf('=');
        if (eq <= 0) throw new Error(`${file}: ${name}: "${word}" is not KEY=VALUE`);
        return [word.slice(0, eq), word.slice(eq + 1)];
      }),
    );
  }
  throw new Error(`${file}: no process named ${name}`);
}

/**
 * services.txt's settings for `name`, with LOADTEST_SERVICE_NODE_OPTIONS added to its NODE_OPTIONS (for
 * profiling a run, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`; the load generator keeps its own).
 */
function settingsOf(name: string): NodeJS.ProcessEnv {
  const settings = serviceSettings(name);
  const nodeOptions = [settings.NODE_OPTIONS, process.env.LOADTEST_SERVICE_NODE_OPTIONS].filter(Boolean).join(' ');
  return { ...settings, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) };
}

export interface Infra {
  databaseUrl: string;
  redisUrl: string;
  brokers: string[];
}

export const infraFromEnv = (brokers: string[]): Infra => ({
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  brokers,
});

/** Everything that names one run's private state in the shared PostgreSQL, Redis and Kafka. */
export interface IntakeRunState {
  pgSchema: string;
  redisPrefix: string;
  consumerGroups: string[];
  /** KAFKA_TOPIC_PREFIX of the run's intake: its topics are its own, created before and deleted after. */
  topicPrefix: string;
}

/** Every topic a started intake writes or reads (registrations, status changes, NIK corrections' checks, its dead letters). */
export const RUN_TOPICS = [REGISTRATION_SUBMITTED_V1, REGISTRATION_STATUS_CHANGED_V1, NIK_VERIFICATION_REQUESTED_V1, DEADLETTER_V1];
/** Partitions of a run's topics: as the shared ones (infra/kafka/topics.txt), so keys spread the same way. */
const RUN_TOPIC_PARTITIONS = 6;
const TOPIC_PREFIX_RE = /^lt-[0-9a-f]+\.$/;

export const runState = (runId: string): IntakeRunState => ({
  pgSchema: `intake_lt_${runId}`,
  redisPrefix: `lt:${runId}:`,
  consumerGroups: [`intake-lt-${runId}`, `intake-lt-${runId}-status`],
  topicPrefix: `lt-${runId}.`,
});

export interface StartedIntake extends IntakeRunState {
  target: string;
  /** The API process (CONSUMER_ENABLED=false). */
  pid: number;
  /** The projector process (CONSUMER_ENABLED=true): same build, its own port, no traffic. */
  projectorPid: number;
  /** The blind-index key this intake uses: lets the audit find rejected NIKs in Kafka and PostgreSQL. */
  indexKey: Buffer;
  stop(): Promise<void>;
}

export interface StartIntakeOptions {
  runId: string;
  port: number;
  infra: Infra;
  /** Pins the API process (the projector floats, like Kafka, PostgreSQL and Redis). */
  cpu?: number;
  /** Global admission bucket; the service defaults (4000 burst, 2500/s) when absent. */
  globalLimit?: { burst: number; perSec: number };
  /** Path prefix for the two JSON logs: <prefix>-intake.log and <prefix>-projector.log. */
  logPrefix?: string;
}

/**
 * Starts the intake as the local cluster runs it (infra/services.txt): an API process with
 * CONSUMER_ENABLED=false and a projector process with CONSUMER_ENABLED=true, both from
 * services/intake/dist/server.js, with fresh PII and session keys and a private schema, Redis prefix, consumer
 * groups and topics (KAFKA_TOPIC_PREFIX): a running cluster's consumers never see the run's events,
 * which they could not open and would dead-letter, and the shared topics do not grow with every run.
 */
export async function startIntake(o: StartIntakeOptions): Promise<StartedIntake> {
  const state = runState(o.runId);
  const indexKey = randomBytes(32);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HTTP_HOST: '127.0.0.1',
    HTTP_TRUST_PROXY: 'loopback',
    LOG_LEVEL: 'warn',
    // For side-by-side runs: the producer's linger and the boot warm-up (the services' defaults otherwise).
    ...(process.env.KAFKA_LINGER_MS ? { KAFKA_LINGER_MS: process.env.KAFKA_LINGER_MS } : {}),
    ...(process.env.INTAKE_WARMUP_REQUESTS ? { INTAKE_WARMUP_REQUESTS: process.env.INTAKE_WARMUP_REQUESTS } : {}),
    PII_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    PII_ACTIVE_KEY_ID: 'k1',
    PII_INDEX_KEY: indexKey.toString('base64'),
    // A key pair of the run's own: nothing here calls the applicant routes, but the intake refuses to start without one.
    SESSION_VERIFY_KEYS: generateSessionKeys().SESSION_VERIFY_KEYS,
    DATABASE_URL: o.infra.databaseUrl,
    PG_SCHEMA: state.pgSchema,
    REDIS_URL: o.infra.redisUrl,
    REDIS_KEY_PREFIX: state.redisPrefix,
    KAFKA_BROKERS: o.infra.brokers.join(','),
    KAFKA_CLIENT_ID: `intake-lt-${o.runId}`,
    CONSUMER_GROUP: state.consumerGroups[0],
    KAFKA_TOPIC_PREFIX: state.topicPrefix,
    ...(o.globalLimit ? { RATE_LIMIT_GLOBAL_BURST: String(o.globalLimit.burst), RATE_LIMIT_GLOBAL_PER_SEC: String(o.globalLimit.perSec) } : {}),
  };
  const log = (name: string) => (o.logPrefix ? { logFile: `${o.logPrefix}-${name}.log` } : {});
  const target = `http://127.0.0.1:${o.port}`;
  const running: NodeProcess[] = [];
  const stop = async () => void (await Promise.all(running.map((p) => p.stop())));
  let api: NodeProcess, projector: NodeProcess;
  try {
    await createRunTopics(o.infra, state.topicPrefix);
    const projectorPort = await freePort();
    // The projector first: migrations run under an advisory lock, and it starts catching up at once.
    // Each takes its infra/services.txt settings (settingsOf), then the run's own keys, which win.
    projector = spawnNode('projector', INTAKE_SERVER, [], { ...settingsOf('intake-projector'), ...env, HTTP_PORT: String(projectorPort) }, log('projector'));
    running.push(projector);
    api = spawnNode(
      'intake',
      INTAKE_SERVER,
      [],
      { ...settingsOf('intake'), ...env, HTTP_PORT: String(o.port) },
      {
        ...(o.cpu === undefined ? {} : { cpu: o.cpu }),
        ...log('intake'),
      },
    );
    running.push(api);
    await waitForHttp(`http://127.0.0.1:${projectorPort}/health/ready`, 60_000, projector);
    await waitForHttp(`${target}/health/ready`, 60_000, api);
    // No catching up to wait for: the run's topics are new and empty.
  } catch (e) {
    await stop();
    await cleanupRunState(o.infra, state);
    throw e;
  }
  process.stderr.write(
    `intake API pid ${api.pid} on ${target}, projector pid ${projector.pid}; schema ${state.pgSchema}, redis prefix ${state.redisPrefix}, topics ${state.topicPrefix}*\n`,
  );
  return { ...state, target, pid: api.pid, projectorPid: projector.pid, indexKey, stop };
}

/** Creates the run's topics, empty; refuses to go on if one of them is still there (a deletion not finished). */
async function createRunTopics(infra: Infra, prefix: string): Promise<void> {
  const created = await withKafkaAdmin(newKafka(infra.brokers, 'loadtests-topics'), (admin) =>
    admin.createTopics(RUN_TOPICS.map((t) => ({ topic: prefix + t, partitions: RUN_TOPIC_PARTITIONS, replicationFactor: 1 }))),
  );
  if (!created) throw new Error(`topics ${prefix}* already exist: another run with this id, or a deletion still in progress`);
}

/** Waits until the projector group has committed up to the end of its registration.submitted.v1. */
export async function waitForProjector(brokers: string[], groupId: string, timeoutMs: number, topic: string = REGISTRATION_SUBMITTED_V1): Promise<number> {
  const kafka = newKafka(brokers, 'loadtests-lag');
  return withKafkaAdmin(kafka, async (admin) => {
    const until = Date.now() + timeoutMs;
    let lag = await groupLag(admin, groupId, topic);
    while (lag > 0 && Date.now() < until) {
      await sleep(500);
      lag = await groupLag(admin, groupId, topic);
    }
    return lag;
  });
}

/** Drops the run's schema, deletes its Redis keys (SCAN on its prefix only), its consumer groups and its topics. */
export async function cleanupRunState(infra: Infra, state: IntakeRunState): Promise<void> {
  if (!SCHEMA_RE.test(state.pgSchema)) throw new Error(`refusing odd schema name ${state.pgSchema}`);
  if (!/^lt:[0-9a-f]+:$/.test(state.redisPrefix)) throw new Error(`refusing odd Redis prefix ${state.redisPrefix}`);
  if (!TOPIC_PREFIX_RE.test(state.topicPrefix)) throw new Error(`refusing odd topic prefix ${state.topicPrefix}`);
  const db = new pg.Client({ connectionString: infra.databaseUrl });
  await db.connect();
  try {
    await db.query(`DROP SCHEMA IF EXISTS ${state.pgSchema} CASCADE`);
  } finally {
    await db.end();
  }
  const redis = new Redis(infra.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${state.redisPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  await withKafkaAdmin(newKafka(infra.brokers, 'loadtests-cleanup'), (admin) => admin.deleteGroups(state.consumerGroups)).catch((e: Error) =>
    process.stderr.write(`could not delete consumer groups ${state.consumerGroups.join(', ')}: ${e.message}\n`),
  );
  await withKafkaAdmin(newKafka(infra.brokers, 'loadtests-cleanup'), async (admin) => {
    const mine = async () => (await admin.listTopics()).filter((t) => t.startsWith(state.topicPrefix));
    const topics = await mine();
    if (topics.length) await admin.deleteTopics(topics);
    // Gone before returning: a next start with the same run id (capacity's ratio, then its steps) creates them again.
    const until = Date.now() + 15_000;
    while ((await mine()).length && Date.now() < until) await sleep(200);
  }).catch((e: Error) => process.stderr.write(`could not delete topics ${state.topicPrefix}*: ${e.message}\n`));
}
