import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const onInterrupt = new Set<() => Promise<void>>();
let trapped = false;

/**
 * Runs `fn` if this process gets SIGINT/SIGTERM (then exits 130): started servers are stopped and
 * their state removed even when a run is cut short. Returns the function that unregisters it.
 */
export function cleanupOnInterrupt(fn: () => Promise<void>): () => void {
  if (!trapped) {
    trapped = true;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        process.stderr.write(`\n${signal}: cleaning up\n`);
        void Promise.allSettled([...onInterrupt].map((f) => f())).then(() => process.exit(130));
      });
    }
  }
  onInterrupt.add(fn);
  return () => void onInterrupt.delete(fn);
}

/** A loopback port nobody listens on right now (others share this machine: fixed ports collide). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc; undefined where unreadable. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** Starts measuring a process's CPU; the returned function gives the cores it used on average since. */
export function cpuSince(pid: number | undefined): () => number | undefined {
  const t0 = Date.now();
  const c0 = pid === undefined ? undefined : processCpuSeconds(pid);
  return () => {
    const c1 = pid === undefined ? undefined : processCpuSeconds(pid);
    if (c0 === undefined || c1 === undefined) return undefined;
    return Math.round(((c1 - c0) / ((Date.now() - t0) / 1000)) * 100) / 100;
  };
}

/** Clock ticks per second of /proc's CPU times. */
export const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

export const hasTaskset = (): boolean => spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;

/** Pins this process, all its threads included, to `cpu` (the load side of a pinned comparison). */
export function pinSelf(cpu: number): boolean {
  return spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

export interface NodeProcess {
  child: ChildProcess;
  pid: number;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Every service a scenario started and has not stopped. If the load generator dies (an uncaught
 * error), they are killed as it exits: an orphaned projector would go on consuming the shared topics
 * and load every later run on this machine (seen once: a crashed run left one behind for minutes).
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Runs `script` with this process's Node (the workspace's Node 24 when started by a pnpm script),
 * under `taskset -c cpu` when a cpu is given. Its stderr is passed through, prefixed with `name`; its
 * stdout (the service's JSON log) goes to `logFile` when given.
 */
export function spawnNode(name: string, script: string, args: string[], env: NodeJS.ProcessEnv, opts: { cpu?: number; logFile?: string } = {}): NodeProcess {
  // V8 flags that NODE_OPTIONS refuses (e.g. --min-semi-space-size) reach a started service this way.
  const nodeArgs = (process.env.LOADTEST_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const argv = [process.execPath, ...nodeArgs, script, ...args];
  const [command, ...rest] = opts.cpu === undefined ? argv : ['taskset', '-c', String(opts.cpu), ...argv];
  // The log goes straight to its file: piped through this process, a busy load generator would fill the
  // pipe and stall a service that logs every request (pino writes stdout synchronously).
  const out = opts.logFile ? openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(command as string, rest, { env, stdio: ['ignore', out, 'pipe'] });
  if (typeof out === 'number') closeSync(out);
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) process.stderr.write(`[${name}] ${line}\n`);
  });
  running.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  return {
    child,
    pid: child.pid ?? -1,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Polls `url` until it answers `okStatus`, the process exits, or `timeoutMs` passes. */
export async function waitForHttp(url: string, timeoutMs: number, proc?: NodeProcess, init: RequestInit = {}, okStatus = 200): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    if (proc && (proc.child.exitCode !== null || proc.child.signalCode !== null)) throw new Error(`process exited before ${url} answered`);
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
      if (res.status === okStatus) return;
      last = `status ${res.status}: ${(await res.text()).slice(0, 200)}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`);
}
