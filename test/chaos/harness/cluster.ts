import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { generateSessionKeys } from '@gelombang/platform';
import { startMailDev, type MailDev } from '@gelombang/testkit';
import { serviceSettings } from '../../../loadtests/src/intake-process';
import { freePort, spawnNode, waitForHttp, type NodeProcess } from '../../../loadtests/src/processes';
import {
  logDir,
  REPO_ROOT,
  startPrivateKafka,
  startPrivatePostgres,
  startPrivateRedis,
  type PrivateKafka,
  type PrivatePostgres,
  type PrivateRedis,
} from './datastores';

/*
 * One scenario's world: private PostgreSQL, Redis and Kafka, MailDev, the registry stand-in and every
 * service of infra/services.txt as a real process on a free port, with keys of its own. A service can
 * be killed (any signal) and started again with the same settings.
 */

export const SERVICES = ['intake-projector', 'intake', 'email', 'nik-verification', 'enrollment'] as const;
export type ServiceName = (typeof SERVICES)[number];

const ENTRY: Record<ServiceName | 'registry-sim', string> = {
  intake: 'services/intake/dist/server.js',
  'intake-projector': 'services/intake/dist/server.js',
  email: 'services/email/dist/server.js',
  'nik-verification': 'services/nik-verification/dist/server.js',
  enrollment: 'services/enrollment/dist/server.js',
  'registry-sim': 'services/registry-sim/dist/server.js',
};

export interface Service {
  name: ServiceName | 'registry-sim';
  url: string;
  process: NodeProcess;
  /** Sends `signal` and waits until the process is gone. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Starts it again (same port and settings) and waits until it is ready. */
  start(): Promise<void>;
  alive(): boolean;
  /** SIGSTOP / SIGCONT: the process holds its connections and does nothing (its group still counts it). */
  pause(): void;
  resume(): void;
}

export interface Cluster {
  name: string;
  pg: PrivatePostgres;
  redis: PrivateRedis;
  kafka: PrivateKafka;
  maildev: MailDev;
  databaseUrl: string;
  svc: Record<ServiceName | 'registry-sim', Service>;
  adminToken: string;
  registryToken: string;
  /** PII_INDEX_KEY of every service: the checker finds people by their NIK's blind index. */
  indexKey: Buffer;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  name: string;
  kafkaNodes?: 1 | 3;
  /** Extra settings for every service (after services.txt's), and per service. */
  env?: Record<string, string>;
  serviceEnv?: Partial<Record<ServiceName | 'registry-sim', Record<string, string>>>;
}

// A consumer started after a SIGKILL joins its group once the dead member's session (15 s) expired and
// the group rebalanced: on two busy cores that was seen to take over a minute.
const READY_TIMEOUT_MS = 180_000;

/** Creates database `db` on the server of `serverUrl` (its database part replaced); returns its URL. */
async function createDatabase(serverUrl: string, db: string): Promise<string> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE "${db}"`);
    // testkit's cluster runs with synchronous_commit=off (fast tests): a COMMIT answered before its WAL is
    // written is lost when the server is stopped -m immediate — seen as an acknowledged seat missing after
    // "PostgreSQL down". The services' database commits as production does.
    await c.query(`ALTER DATABASE "${db}" SET synchronous_commit = on`);
  } finally {
    await c.end();
  }
  return serverUrl.replace(/\/[^/]*$/, `/${db}`);
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const logs = logDir(o.name);
  const started: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of started.reverse()) await stop().catch((e: Error) => process.stderr.write(`[chaos] cleanup: ${e.message}\n`));
  };
  try {
    // One after the other (two cores: in parallel, MailDev missed its start timeout behind the JVM), each
    // stop registered as soon as its server runs.
    const postgres = await startPrivatePostgres();
    started.push(() => postgres.destroy());
    const redis = await startPrivateRedis();
    started.push(() => redis.stop());
    const maildev = await startMailDev();
    started.push(() => maildev.stop());
    const kafka = await startPrivateKafka(o.kafkaNodes ?? 1);
    started.push(() => kafka.destroy());
    const databaseUrl = await createDatabase(postgres.url, 'chaos');
    const indexKey = randomBytes(32);
    const adminToken = randomBytes(18).toString('base64url');
    const registryToken = randomBytes(18).toString('base64url');
    const registryPort = await freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HTTP_HOST: '127.0.0.1',
      HTTP_TRUST_PROXY: 'loopback',
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      KAFKA_BROKERS: kafka.brokers.join(','),
      PII_KEYS: `c1:${randomBytes(32).toString('base64')}`,
      PII_ACTIVE_KEY_ID: 'c1',
      PII_INDEX_KEY: indexKey.toString('base64'),
      ...generateSessionKeys(),
      ADMIN_TOKEN: adminToken,
      REGISTRY_API_TOKEN: registryToken,
      REGISTRY_URL: `http://127.0.0.1:${registryPort}`,
      MAIL_SMTP_URL: maildev.smtpUrl,
      ...o.env,
    };
    const svc = {} as Record<ServiceName | 'registry-sim', Service>;
    const make = async (name: ServiceName | 'registry-sim', port: number): Promise<Service> => {
      const url = `http://127.0.0.1:${port}`;
      const settings = { ...serviceSettings(name), ...env, ...o.serviceEnv?.[name], HTTP_PORT: String(port) };
      const s: Service = {
        name,
        url,
        process: undefined as unknown as NodeProcess,
        alive: () => s.process.child.exitCode === null && s.process.child.signalCode === null,
        pause: () => void s.process.child.kill('SIGSTOP'),
        resume: () => void s.process.child.kill('SIGCONT'),
        async kill(signal) {
          if (!s.alive()) return;
          const gone = new Promise((r) => s.process.child.once('exit', r));
          s.process.child.kill(signal);
          await gone;
        },
        async start() {
          s.process = spawnNode(name, join(REPO_ROOT, ENTRY[name]), [], settings, { logFile: join(logs, `${name}-${Date.now()}.log`) });
          await waitForHttp(`${url}/health/ready`, READY_TIMEOUT_MS, s.process);
        },
      };
      await s.start();
      started.push(() => s.kill('SIGKILL'));
      return s;
    };
    svc['registry-sim'] = await make('registry-sim', registryPort);
    // The projector first: it runs the intake's migrations.
    for (const name of SERVICES) svc[name] = await make(name, await freePort());
    return { name: o.name, pg: postgres, redis, kafka, maildev, databaseUrl, svc, adminToken, registryToken, indexKey, env, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
