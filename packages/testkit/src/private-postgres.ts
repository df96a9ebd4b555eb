import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes';

const run = promisify(execFile);

/** A PostgreSQL cluster this test owns: it may stop, kill or freeze it without touching the shared one. */
export interface PrivatePostgres {
  /** postgres://root@127.0.0.1:<port>/postgres (trust). */
  url: string;
  port: number;
  /** Stops it at once (`pg_ctl -m immediate`): open connections drop, new ones are refused. */
  stop(): Promise<void>;
  /** Starts it again on the same port, with its data. */
  start(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: connections stay open and nothing answers (a hung server). */
  freeze(): void;
  /** SIGCONT to what `freeze` stopped. */
  thaw(): void;
  /** Stops it and deletes its data directory. */
  destroy(): Promise<void>;
}

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
}

/**
 * initdb + start a private cluster in a temporary directory on a free port (about two seconds). As root
 * it runs as the `postgres` OS user (PostgreSQL refuses root), as datastores.sh does.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gelombang-pg-'));
  const asRoot = userInfo().uid === 0;
  const pgUser = asRoot ? Number(readFileSync('/etc/passwd', 'utf8').match(/^postgres:[^:]*:(\d+):(\d+):/m)?.[1] ?? NaN) : undefined;
  if (asRoot) {
    if (pgUser === undefined || Number.isNaN(pgUser)) throw new Error('running as root needs a postgres OS user for a private cluster');
    chownSync(dir, pgUser, pgUser);
  }
  const as = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args));
  const data = join(dir, 'data');
  await as('initdb', ['-D', data, '-U', 'root', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  const start = async () => {
    await as('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'postgres.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
      'start',
    ]);
  };
  const stop = async () => {
    await as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
  };
  let frozen: number[] = [];
  const processes = (): number[] => {
    const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
          const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
        } catch {
          return false;
        }
      })
      .map(Number);
    return [postmaster, ...children];
  };
  await start();
  // A test process that dies before its afterAll (a crash, a kill) must not leave the cluster running.
  const onExit = () => {
    try {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
      const args = ['-D', data, '-m', 'immediate', 'stop'];
      if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args], { stdio: 'ignore' });
      else execFileSync(join(bin, 'pg_ctl'), args, { stdio: 'ignore' });
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return {
    url: `postgres://root@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    freeze: () => {
      frozen = processes();
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    },
    thaw: () => {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
      frozen = [];
    },
    destroy: async () => {
      process.off('exit', onExit);
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
