import { parseArgs } from 'node:util';
import { FRONTS, type Front } from './edge-process';
import { cleanupRunState, runState } from './intake-process';
import { newRunId } from './registrations';
import { reportStamp, writeReport } from './report';
import { loadSlo } from './slo';
import { capacity } from './scenarios/capacity';
import { enrollRush } from './scenarios/enroll-rush';
import { funnel } from './scenarios/funnel';
import { defaultInfra, type ScenarioContext, type ScenarioOutcome } from './scenarios/context';
import { ratio } from './scenarios/ratio';
import { soak } from './scenarios/soak';
import { spike } from './scenarios/spike';

const USAGE = `pnpm loadtest <spike|capacity|ratio|soak|funnel|enroll-rush> [options]
pnpm loadtest cleanup --run-id ID   remove what a cut-short --start-intake run left behind

  --target URL        intake to load (default http://127.0.0.1:3001); traffic goes to loopback only
  --start-intake      start services/intake/dist/server.js on --intake-port with a private schema,
                      Redis prefix and consumer group (all removed afterwards); ratio does this
                      by itself unless --target is given
  --intake-port N     port for a started intake (default: a free one)
  --rate N            arrival rate per second (spike, soak: default 2000 = half the measured capacity)
  --duration S        seconds (spike, soak: whole run; capacity: each step; ratio: each side)
  --count N           requests (spike; wins over rate x duration)
  --rates a,b,c       capacity steps (default 500,1000,1500,2000,2500,3000,4000,…,10000)
  --connections N     client connections
  --smoke             a few seconds at a low rate, to check the wiring
  --pg-schema NAME    the intake's PG_SCHEMA, for the no-loss audit against --target
  --consumer-group G  the intake's CONSUMER_GROUP: the audit waits for it to catch up
  --no-audit          skip the no-loss audit (spike, capacity)
  --cold-connections  spike, capacity, soak: connect during the run; by default the driver opens its
                      connections first, unmeasured, as a load balancer in front of the intake holds them
  --no-lead-in        spike, capacity: no lead-in; by default 200/s for 5 s (audited, not counted) comes
                      first, as the seed's peak minute came amid a registration already running
  --through-edge L    spike: the same spike through each front of L in turn, one intake, one audit, side by
                      side: direct (the intake itself), fastify (services/edge), nginx (infra/edge); e.g.
                      direct,fastify,nginx (a front may repeat, to alternate). The edge's own :8080 is
                      loaded with --target http://127.0.0.1:8080 instead
  --typo-share X      funnel: share of people whose NIK has a typo they later correct (default 0.1)
  --quota N           enroll-rush: seats in the batch (default 100; smoke 10)

funnel and enroll-rush run against a whole cluster (./gelombang start): intake --target (default
:3001), EMAIL_URL (:3002), ENROLLMENT_URL (:3004), MAILDEV_URL (:1080), REGISTRY_URL (:3090), and
ADMIN_TOKEN / REGISTRY_API_TOKEN, and for enroll-rush SESSION_SIGNING_KEY (./gelombang loadtest reads
the local ones from .run/dev-keys.env).
funnel: --count people (default 1000; smoke 20) at --rate per second (100; smoke 10), --duration is
the per-stage timeout in seconds. enroll-rush: --count people (5000; smoke 60) arriving within
--duration seconds (2; smoke 1).

Env: DATABASE_URL, REDIS_URL, KAFKA_BROKERS; PII_INDEX_KEY (base64) of a --target intake lets the
audit check that refused requests wrote nothing. Thresholds: loadtests/slo.json. Reports:
loadtests/reports/<scenario>-<timestamp>.{json,md}. Exit 1 when a threshold is breached, 2 on misuse.`;

const SCENARIOS: Record<string, (ctx: ScenarioContext) => Promise<ScenarioOutcome>> = { spike, capacity, ratio, soak, funnel, 'enroll-rush': enrollRush };

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

function share(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error('--typo-share must be between 0 and 1');
  return n;
}

function fronts(v: string): Front[] {
  const list = v.split(',').map((s) => s.trim());
  const bad = list.filter((f) => !(FRONTS as readonly string[]).includes(f));
  if (bad.length || list.length === 0) throw new Error(`--through-edge takes ${FRONTS.join(', ')} (comma separated), not ${bad.join(', ')}`);
  return list as Front[];
}

function loopbackOnly(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host) && !host.startsWith('127.')) throw new Error(`--target must be a loopback address, not ${host}`);
  return url.replace(/\/+$/, '');
}

function parse(argv: string[]): ScenarioContext {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      'start-intake': { type: 'boolean', default: false },
      'intake-port': { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      count: { type: 'string' },
      rates: { type: 'string' },
      connections: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      'pg-schema': { type: 'string' },
      'consumer-group': { type: 'string' },
      'no-audit': { type: 'boolean', default: false },
      'cold-connections': { type: 'boolean', default: false },
      'no-lead-in': { type: 'boolean', default: false },
      'through-edge': { type: 'string' },
      'typo-share': { type: 'string' },
      quota: { type: 'string' },
      'run-id': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const scenario = positionals[0];
  if (scenario === 'cleanup') {
    if (!values['run-id'] || !/^[0-9a-f]{8}$/.test(values['run-id'])) throw new Error('cleanup needs --run-id <8 hex digits>');
    return { scenario, runId: values['run-id'] } as ScenarioContext;
  }
  if (values.help || !scenario || !SCENARIOS[scenario]) throw new Error(values.help ? '' : `unknown scenario ${scenario ?? '(none)'}`);
  const runId = newRunId();
  return {
    scenario,
    runId,
    target: loopbackOnly(values.target),
    rate: positive('rate', values.rate),
    durationSec: positive('duration', values.duration),
    count: positive('count', values.count),
    smoke: values.smoke,
    startIntake: values['start-intake'],
    intakePort: positive('intake-port', values['intake-port']),
    pgSchema: values['pg-schema'],
    consumerGroup: values['consumer-group'],
    audit: !values['no-audit'],
    coldConnections: values['cold-connections'],
    leadIn: !values['no-lead-in'],
    ...(values['through-edge'] ? { throughEdge: fronts(values['through-edge']) } : {}),
    connections: positive('connections', values.connections),
    rates: values.rates?.split(',').map((r) => positive('rates', r.trim()) as number),
    typoShare: share(values['typo-share']),
    quota: positive('quota', values.quota),
    slo: loadSlo(undefined, values.smoke),
    infra: defaultInfra(),
  };
}

async function main(): Promise<number> {
  let ctx: ScenarioContext;
  try {
    // `pnpm run loadtest -- spike …` hands the "--" on: drop it, or every option would become positional.
    const argv = process.argv.slice(2);
    ctx = parse(argv[0] === '--' ? argv.slice(1) : argv);
  } catch (e) {
    const message = (e as Error).message;
    process.stderr.write(`${message ? `${message}\n\n` : ''}${USAGE}\n`);
    return message ? 2 : 0;
  }
  reportStamp(); // the run's start names its reports and logs
  if (ctx.scenario === 'cleanup') {
    await cleanupRunState(defaultInfra(), runState(ctx.runId));
    process.stderr.write(`removed schema, Redis keys, consumer groups and topics of run ${ctx.runId}\n`);
    return 0;
  }
  const outcome = await (SCENARIOS[ctx.scenario] as (c: ScenarioContext) => Promise<ScenarioOutcome>)(ctx);
  const paths = writeReport(ctx.scenario, outcome.data, outcome.markdown, outcome.html);
  process.stdout.write(`${outcome.markdown}\nReports:\n${paths.map((p) => `  ${p}`).join('\n')}\n`);
  if (outcome.breaches.length) {
    process.stderr.write(`\nSLO BREACHED (${ctx.scenario}):\n${outcome.breaches.map((b) => `  - ${b}`).join('\n')}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(2);
  },
);
