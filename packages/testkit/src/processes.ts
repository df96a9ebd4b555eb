import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * A throwaway redis-server this test owns, so it can be stopped without touching the shared one.
 * `restart()` brings it back empty on the same port, as a real Redis without persistence would;
 * `start()` after `stop()` does the same after an outage of the caller's length.
 */
export async function startPrivateRedis(): Promise<{
  url: string;
  port: number;
  stop: () => Promise<void>;
  start: () => Promise<void>;
  restart: () => Promise<void>;
}> {
  const port = await freePort();
  const launch = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitForPort(port, 10_000);
    return proc;
  };
  let proc = await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => stopProcess(proc),
    start: async () => {
      if (proc.exitCode === null && proc.signalCode === null) return;
      proc = await launch();
    },
    restart: async () => {
      await stopProcess(proc);
      proc = await launch();
    },
  };
}

/** A message as MailDev's REST API returns it (the fields tests read). */
export interface MailDevEmail {
  id: string;
  subject: string;
  text?: string;
  html?: string;
  time: string;
  to: Array<{ address: string; name?: string }>;
  from: Array<{ address: string; name?: string }>;
}

export interface MailDev {
  smtpPort: number;
  smtpUrl: string;
  apiUrl: string;
  /** Every message received so far, in arrival order. */
  emails(): Promise<MailDevEmail[]>;
  /** Messages to this address (case-insensitive). */
  emailsTo(address: string): Promise<MailDevEmail[]>;
  stop(): Promise<void>;
}

/** A private MailDev (the root devDependency) on free ports: the mail provider of tests. */
export async function startMailDev(): Promise<MailDev> {
  const [smtpPort, webPort] = [await freePort(), await freePort()];
  // maildev 3 is ESM and exports neither `require` nor `./package.json`: find its directory on the lookup path.
  const bin = (require.resolve.paths('maildev') ?? []).map((dir) => join(dir, 'maildev', 'dist', 'bin', 'maildev.js')).find((f) => existsSync(f));
  if (!bin) throw new Error('maildev (a root devDependency) is not installed');
  const proc = spawn(process.execPath, [bin, '--smtp', String(smtpPort), '--web', String(webPort), '--ip', '127.0.0.1', '--web-ip', '127.0.0.1'], {
    stdio: 'ignore',
  });
  await Promise.all([waitForPort(smtpPort), waitForPort(webPort)]);
  const apiUrl = `http://127.0.0.1:${webPort}`;
  const emails = async (): Promise<MailDevEmail[]> => {
    const res = await fetch(`${apiUrl}/api/email`);
    if (!res.ok) throw new Error(`MailDev answered ${res.status}`);
    return (await res.json()) as MailDevEmail[];
  };
  return {
    smtpPort,
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    apiUrl,
    emails,
    emailsTo: async (address) => (await emails()).filter((e) => e.to.some((t) => t.address.toLowerCase() === address.toLowerCase())),
    stop: () => stopProcess(proc),
  };
}

export interface ServerProcess {
  proc: ChildProcess;
  /** Exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

/** Runs a built service (`dist/server.js`) as a real process with exactly `env` (and PATH). */
export function startServerProcess(script: string, env: Record<string, string>): ServerProcess {
  const proc = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, exited, output: () => out };
}

/**
 * Our consumers' Kafka session timeout (platform kafka.ts). A service restarted sooner after a SIGKILL
 * waits for the dead member longer than Fastify lets its consumers plugin start, and gives up
 * (decision 0024): crash tests restart after this.
 */
export const CONSUMER_SESSION_TIMEOUT_MS = 15_000;

/** `startServerProcess`, resolved once its GET /health/ready on `port` answers 200. */
export async function startReadyServer(script: string, env: Record<string, string>, port: number | string, timeoutMs = 60_000): Promise<ServerProcess> {
  const s = startServerProcess(script, env);
  const end = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
      async (r) => (await r.arrayBuffer(), r.status),
      () => 0,
    );
    if (status === 200) return s;
    if (s.proc.exitCode !== null || Date.now() > end) {
      s.proc.kill('SIGKILL');
      throw new Error(`${script} not ready on port ${port}: ${s.output().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGTERM to a server process still running, and its exit awaited. */
export async function stopServer(s: ServerProcess | undefined): Promise<void> {
  if (!s || s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  s.proc.kill('SIGTERM');
  await s.exited;
}
