import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres } from '@gelombang/testkit';

/*
 * The chaos suite's own datastores: a PostgreSQL cluster and a redis-server (testkit's) and a Kafka
 * (one node or three) that belong to the test, so it can kill, stop or freeze them. The shared
 * servers on 5432, 6379 and 9092 are never touched.
 */

const run = promisify(execFile);
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const log = (line: string) => process.stderr.write(`[chaos] ${line}\n`);

export type PrivateRedis = Awaited<ReturnType<typeof startPrivateRedis>>;
export { startPrivatePostgres, startPrivateRedis, type PrivatePostgres };

/** Is every port of [base, base + n) free on loopback? */
async function portsFree(base: number, n: number): Promise<boolean> {
  for (let p = base; p < base + n; p++) {
    const free = await new Promise<boolean>((ok) => {
      const s = createServer();
      s.once('error', () => ok(false));
      s.listen(p, '127.0.0.1', () => s.close(() => ok(true)));
    });
    if (!free) return false;
  }
  return true;
}

export interface PrivateKafka {
  nodes: 1 | 3;
  brokers: string[];
  /** SIGKILL of node i (1-based): no flush, no controlled shutdown. */
  kill(node?: number): void;
  /** SIGSTOP / SIGCONT of node i: it holds its connections and answers nothing (requests time out, acks are lost). */
  freeze(node?: number): void;
  thaw(node?: number): void;
  /** Starts whatever node is not running (kafka.sh start is idempotent) and ensures the topics. */
  start(): Promise<void>;
  /** Stops every node and deletes its data. */
  destroy(): Promise<void>;
}

/**
 * A private Kafka on its own ports via infra/scripts/kafka.sh (KAFKA_PORT, KAFKA_NODES): one node, or
 * three (replication 3, min ISR 2), with the project's topics.
 */
export async function startPrivateKafka(nodes: 1 | 3): Promise<PrivateKafka> {
  let port = 0;
  for (let tries = 0; tries < 50 && !port; tries++) {
    const candidate = 20_000 + 2 * Math.floor(Math.random() * 10_000);
    if (await portsFree(candidate, 2 * nodes)) port = candidate;
  }
  if (!port) throw new Error('no free port range for a private Kafka');
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_NODES: String(nodes), KAFKA_HEAP_OPTS: '-Xms128m -Xmx384m' };
  const script = join(REPO_ROOT, 'infra', 'scripts', 'kafka.sh');
  const kafkaSh = async (cmd: string) => {
    try {
      await run('bash', [script, cmd], { env, cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
    } catch (e) {
      const err = e as { stderr?: string; stdout?: string };
      throw new Error(`kafka.sh ${cmd} (port ${port}, ${nodes} node(s)) failed: ${(err.stderr ?? '') + (err.stdout ?? '')}`.slice(0, 4000), {
        cause: e,
      });
    }
  };
  const pidFile = (node: number) =>
    nodes === 1 ? join(REPO_ROOT, '.run', `kafka-${port}.pid`) : join(REPO_ROOT, '.run', `kafka-3n-${port}`, `node-${node}.pid`);
  const t0 = Date.now();
  await kafkaSh('start').catch(async (e: Error) => {
    await kafkaSh('reset').catch(() => undefined);
    throw e;
  });
  const brokers = Array.from({ length: nodes }, (_, i) => `localhost:${port + 2 * i}`);
  log(`private Kafka (${nodes} node(s)) on ${brokers.join(',')} in ${Date.now() - t0} ms`);
  return {
    nodes,
    brokers,
    kill(node = 1) {
      const pid = Number(readFileSync(pidFile(node), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
      log(`SIGKILL Kafka node ${node} (pid ${pid})`);
    },
    freeze: (node = 1) => process.kill(Number(readFileSync(pidFile(node), 'utf8').trim()), 'SIGSTOP'),
    thaw: (node = 1) => process.kill(Number(readFileSync(pidFile(node), 'utf8').trim()), 'SIGCONT'),
    start: () => kafkaSh('start'),
    destroy: () => kafkaSh('reset'),
  };
}

/** A folder for one scenario's logs (under .run/chaos, git-ignored with the rest of .run). */
export function logDir(name: string): string {
  const dir = join(REPO_ROOT, '.run', 'chaos', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
