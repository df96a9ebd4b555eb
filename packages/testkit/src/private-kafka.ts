import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes';

const run = promisify(execFile);
const REPO_ROOT = join(__dirname, '..', '..', '..');
const SCRIPT = join(REPO_ROOT, 'infra', 'scripts', 'kafka.sh');

/** A single-node Kafka broker this test owns (infra/scripts/kafka.sh on a free port), with the project's topics. */
export interface PrivateKafka {
  /** localhost:<port> */
  brokers: string[];
  port: number;
  /** SIGKILL: the broker dies with its connections open, as in a crash. */
  kill(): void;
  /** Starts it (again) with its data: the script's `start`, which waits until it is usable. */
  start(): Promise<void>;
  /** Stops it and deletes its data (`reset`). */
  destroy(): Promise<void>;
}

const listenable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/** A free port whose neighbour (the controller's) is free too. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 65535 && (await listenable(port + 1))) return port;
  }
}

/** Starts a private broker (a JVM: allow tens of seconds on a loaded machine). */
export async function startPrivateKafka(): Promise<PrivateKafka> {
  const port = await freePortPair();
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_NODES: '1' };
  const script = (command: string) => run('bash', [SCRIPT, command], { env, cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  const start = async () => void (await script('start'));
  await start();
  return {
    brokers: [`localhost:${port}`],
    port,
    kill: () => {
      const pid = Number(readFileSync(join(REPO_ROOT, '.run', `kafka-${port}.pid`), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
    },
    start,
    destroy: async () => void (await script('reset').catch(() => undefined)),
  };
}
