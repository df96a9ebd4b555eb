/*
 * `metrics-check`: a real Prometheus (Debian's binary) scrapes the running cluster with
 * infra/prometheus/prometheus.yml and its rules, while a command runs (the funnel smoke in CI); then
 * every expression of every dashboard (infra/grafana/) must return data, and every metric it names
 * must exist. Evaluated by Prometheus itself, so a typo in a label, a function or a recording rule
 * fails as surely as a missing metric (docs/decisions/0022).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { allExpressions, metricNames } from './dashboards';

const ROOT = resolve(__dirname, '..', '..', '..');
const PROM_DIR = join(ROOT, 'infra', 'prometheus');

const USAGE = `node packages/ops/dist/metrics-check.js [--scrape-interval 2s] [--window 1m] [--scrape-for 20] [-- command args...]

Starts Prometheus (PROMETHEUS_BIN, default prometheus) on a free port with infra/prometheus's scrape
config and rules, waits until every target is up, runs the command (or scrapes for --scrape-for
seconds), then evaluates every dashboard expression ($__rate_interval = --window). Exit 1 when a
target is down, the command failed, or an expression returned no data.`;

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const dash = argv.indexOf('--');
  const { values } = parseArgs({
    args: dash === -1 ? argv : argv.slice(0, dash),
    options: {
      'scrape-interval': { type: 'string', default: '2s' },
      window: { type: 'string', default: '1m' },
      'scrape-for': { type: 'string', default: '20' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = dash === -1 ? [] : argv.slice(dash + 1);

  const dir = mkdtempSync(join(tmpdir(), 'gelombang-metrics-check-'));
  const config = parse(readFileSync(join(PROM_DIR, 'prometheus.yml'), 'utf8')) as { global: Record<string, string>; rule_files: string[] };
  config.global.scrape_interval = values['scrape-interval'];
  config.global.evaluation_interval = values['scrape-interval'];
  config.global.scrape_timeout = values['scrape-interval'];
  config.rule_files = config.rule_files.map((f) => join(PROM_DIR, f));
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const prometheus = spawn(
    process.env.PROMETHEUS_BIN ?? 'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  prometheus.stderr.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => prometheus.once('exit', () => r()));
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${base}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
    return body.data;
  };

  try {
    await until('Prometheus to be ready', 30_000, async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined));
    const targets = await until('every target up', 60_000, async () => {
      const t = await api<{ activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }> }>('/api/v1/targets');
      return t.activeTargets.length > 0 && t.activeTargets.every((x) => x.health === 'up') ? t.activeTargets : undefined;
    }).catch(async (e: Error) => {
      const t = await api<{ activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }> }>('/api/v1/targets');
      for (const x of t.activeTargets.filter((a) => a.health !== 'up'))
        process.stderr.write(`target ${x.labels.process} (${x.labels.instance}): ${x.health} ${x.lastError}\n`);
      throw e;
    });
    process.stdout.write(`Prometheus on ${base} scrapes ${targets.map((t) => t.labels.process).join(', ')} every ${values['scrape-interval']}\n`);

    if (command.length > 0) {
      process.stdout.write(`running: ${command.join(' ')}\n`);
      const code = await new Promise<number | null>((r) => spawn(command[0]!, command.slice(1), { stdio: 'inherit' }).once('exit', r));
      if (code !== 0) {
        process.stderr.write(`the command exited ${code}\n`);
        return 1;
      }
    } else await sleep(Number(values['scrape-for']) * 1000);
    // Two more scrapes and rule evaluations after the last of the traffic.
    await sleep(3 * parseFloat(values['scrape-interval']) * 1000);

    const failures: string[] = [];
    const exprs = allExpressions();
    const names = [...new Set(exprs.flatMap((e) => metricNames(e.expr)))].sort();
    for (const name of names) {
      const found = await api<{ result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(`count({__name__="${name}"})`)}`);
      if (found.result.length === 0) failures.push(`metric ${name}: no series on the cluster`);
    }
    for (const e of exprs) {
      const q = e.expr.replaceAll('$__rate_interval', values.window);
      const data = await api<{ result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(q)}`).catch((err: Error) => ({ error: err.message }));
      if ('error' in data) failures.push(`${e.dashboard} / ${e.panel}: ${data.error}`);
      else if (data.result.length === 0) failures.push(`${e.dashboard} / ${e.panel}: no data for ${q}`);
    }
    process.stdout.write(`${names.length} metric names and ${exprs.length} panel expressions evaluated, ${failures.length} without data\n`);
    for (const f of failures) process.stderr.write(`  ${f}\n`);
    return failures.length === 0 ? 0 : 1;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${log.slice(-2000)}\n`);
    return 1;
  } finally {
    prometheus.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  },
);
