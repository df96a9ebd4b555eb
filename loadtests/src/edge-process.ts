import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, processCpuSeconds, spawnNode, waitForHttp } from './processes';

/** What stands in front of the intake in a run: nothing, the edge as it ships (Fastify), or nginx (decision 0018). */
export type Front = 'direct' | 'fastify' | 'nginx';
export const FRONTS: readonly Front[] = ['direct', 'fastify', 'nginx'];

export const EDGE_SERVER = resolve(__dirname, '..', '..', 'services', 'edge', 'dist', 'server.js');
export const NGINX_TEMPLATE = resolve(__dirname, '..', '..', 'infra', 'edge', 'nginx.conf.template');

export interface StartedFront {
  front: Front;
  /** Where the load goes. */
  target: string;
  /** CPU seconds the front's processes have used so far (undefined for direct). */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts `front` before the intake at `intake`, believing X-Forwarded-For from loopback (the load
 * suite's simulated phones are addresses in that header, from one loopback client), as a load balancer
 * in front of the edge would be believed. The Fastify edge logs one line per request (info), nginx one
 * access-log line (buffered): both as they would run.
 */
export async function startFront(front: Front, intake: string, logPrefix?: string): Promise<StartedFront> {
  if (front === 'direct') return { front, target: intake, cpuSeconds: () => undefined, stop: async () => undefined };
  const port = await freePort();
  const target = `http://127.0.0.1:${port}`;
  if (front === 'fastify') {
    const edge = spawnNode(
      'edge',
      EDGE_SERVER,
      [],
      {
        PATH: process.env.PATH,
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(port),
        LOG_LEVEL: process.env.LOADTEST_EDGE_LOG_LEVEL ?? 'info',
        EDGE_TRUST_PROXY: 'loopback',
        // Only the intake is loaded; the others point at it too, so that readiness (all of them) holds.
        EDGE_INTAKE_URL: intake,
        EDGE_EMAIL_URL: intake,
        EDGE_NIK_URL: intake,
        EDGE_ENROLLMENT_URL: intake,
        EDGE_CORS_ORIGINS: 'http://localhost:5173',
      },
      logPrefix ? { logFile: `${logPrefix}-edge.log` } : {},
    );
    await waitForHttp(`${target}/health/ready`, 30_000, edge);
    return { front, target, cpuSeconds: () => processCpuSeconds(edge.pid), stop: () => edge.stop() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'gelombang-nginx-'));
  // Run as root, nginx's workers drop to another user: they must reach the directory.
  chmodSync(dir, 0o755);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    readFileSync(NGINX_TEMPLATE, 'utf8')
      .replaceAll('@RUN@', dir)
      .replaceAll('@PORT@', String(port))
      .replaceAll('@INTAKE@', new URL(intake).host)
      .replaceAll('@TRUST@', '127.0.0.0/8'),
  );
  const child = spawn(process.env.LOADTEST_NGINX ?? 'nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[nginx] ${d.toString()}`));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const proc = {
    child,
    pid: child.pid ?? -1,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGQUIT'); // graceful: workers finish their requests
      await exited;
    },
  };
  try {
    await waitForHttp(`${target}/health/live`, 15_000, proc);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  // The master and its worker: the worker does the work, the master's share is near nothing.
  const pids = () => [proc.pid, ...childPids(proc.pid)];
  const initial = pids();
  return {
    front,
    target,
    cpuSeconds: () => initial.reduce((sum, pid) => sum + (processCpuSeconds(pid) ?? 0), 0),
    stop: async () => {
      await proc.stop();
      if (logPrefix) {
        try {
          writeFileSync(`${logPrefix}-nginx-error.log`, readFileSync(join(dir, 'error.log')));
        } catch {
          // nothing logged
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
