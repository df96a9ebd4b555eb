import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { calendarDateIn } from '@gelombang/nik';
import { runClosedModel, type ClosedModelResult } from '../closed-model';
import { cleanupOnInterrupt, freePort, hasTaskset, pinSelf, processCpuSeconds, spawnNode, waitForHttp } from '../processes';
import { applicant, randomSeedBase, REGISTRATIONS_PATH } from '../registrations';
import { closedModelMarkdown } from '../report';
import { withIntake, type ScenarioContext, type ScenarioOutcome } from './context';

const BARE_SERVER = resolve(__dirname, '..', 'bare-server.js');
const SERVER_CPU = 0;
const LOAD_CPU = 1;

type Measured = ClosedModelResult & { serverCpuCores?: number; loadCpuCores: number };

/** Runs autocannon and the CPU both sides used meanwhile (warm-up included), to tell which side was the limit. */
async function measured(serverPid: number | undefined, run: () => Promise<ClosedModelResult>): Promise<Measured> {
  const t0 = performance.now();
  const server0 = serverPid === undefined ? undefined : processCpuSeconds(serverPid);
  const self0 = process.cpuUsage();
  const r = await run();
  const wall = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const server1 = serverPid === undefined ? undefined : processCpuSeconds(serverPid);
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    ...r,
    loadCpuCores: round((self.user + self.system) / 1e6 / wall),
    ...(server0 !== undefined && server1 !== undefined ? { serverCpuCores: round((server1 - server0) / wall) } : {}),
  };
}

/**
 * Closed-loop maximum throughput, side by side in one run: the bare Fastify route, then the full
 * intake POST (unique applicants both times). With taskset, both servers run on CPU 0 and this
 * process (autocannon) on CPU 1; Kafka, PostgreSQL and Redis are not pinned and float on both.
 * Starts its own intake unless --target points at one.
 */
export async function ratio(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const durationSec = ctx.durationSec ?? (ctx.smoke ? 3 : 10);
  const warmupSec = ctx.smoke ? 1 : 3;
  const connections = ctx.connections ?? 100;
  const pinned = hasTaskset() && pinSelf(LOAD_CPU);
  const cpu = pinned ? SERVER_CPU : undefined;
  const today = calendarDateIn(new Date());
  const requests = (firstSeed: number) => (i: number) => {
    const a = applicant(firstSeed + i, ctx.runId, today);
    return { body: a.body, headers: a.headers };
  };

  const barePort = await freePort();
  const bare = spawnNode('bare', BARE_SERVER, ['--port', String(barePort)], { PATH: process.env.PATH }, cpu === undefined ? {} : { cpu });
  const unregister = cleanupOnInterrupt(() => bare.stop());
  let bareResult: Measured;
  try {
    const url = `http://127.0.0.1:${barePort}${REGISTRATIONS_PATH}`;
    await waitForHttp(url, 15_000, bare, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, 202);
    process.stderr.write(`ratio: bare Fastify (pid ${bare.pid}), ${connections} connections, ${durationSec} s\n`);
    bareResult = await measured(bare.pid, () => runClosedModel({ url, connections, durationSec, warmupSec, makeRequest: requests(randomSeedBase()) }));
  } finally {
    unregister();
    await bare.stop();
  }

  const start = ctx.target === undefined;
  return withIntake(ctx, { start, globalLimit: { burst: 1_000_000, perSec: 1_000_000 }, ...(cpu === undefined ? {} : { cpu }) }, async (sut) => {
    process.stderr.write(`ratio: intake at ${sut.target}${sut.pid ? ` (pid ${sut.pid})` : ''}, ${connections} connections, ${durationSec} s\n`);
    const intakeResult = await measured(sut.pid, () =>
      runClosedModel({ url: `${sut.target}${REGISTRATIONS_PATH}`, connections, durationSec, warmupSec, makeRequest: requests(randomSeedBase()) }),
    );
    const ratioValue = intakeResult.okPerSec > 0 ? Math.round((bareResult.okPerSec / intakeResult.okPerSec) * 10) / 10 : null;
    const bad = intakeResult.total ? (intakeResult.non2xx + intakeResult.errors) / intakeResult.total : 1;
    const breaches =
      bad > ctx.slo.maxErrorRate ? [`intake answered ${(bad * 100).toFixed(2)} % non-2xx or errors: its req/s is not a clean capacity figure`] : [];
    const markdown = [
      `# Ratio — bare Fastify vs intake POST, ${new Date().toISOString()}`,
      '',
      `Run ${ctx.runId}. Closed loop (autocannon), ${connections} connections, ${warmupSec} s warm-up then ${durationSec} s each, one after the other. ` +
        (pinned
          ? `Servers pinned to CPU ${SERVER_CPU} (taskset -c ${SERVER_CPU}), autocannon to CPU ${LOAD_CPU}; Kafka, PostgreSQL and Redis unpinned.`
          : 'Not pinned (no taskset).') +
        (start ? '' : ' Intake given by --target (not started or pinned by the scenario).'),
      '',
      closedModelMarkdown([
        { name: 'bare Fastify 5 route', r: bareResult },
        { name: 'intake POST /v1/registrations', r: intakeResult },
      ]),
      '',
      `**Ratio (bare 2xx/s ÷ intake 2xx/s): ${ratioValue ?? 'n/a'}.**`,
      '',
      `CPU used during each side (warm-up included), in cores: bare server ${bareResult.serverCpuCores ?? 'n/a'}, autocannon ${bareResult.loadCpuCores}; ` +
        `intake ${intakeResult.serverCpuCores ?? 'n/a'}, autocannon ${intakeResult.loadCpuCores}. A side near 1.0 was the limit.`,
      '',
      breaches.length ? breaches.map((b) => `- ${b}`).join('\n') : '',
      `Intake status codes: ${Object.entries(intakeResult.statusCounts)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}.`,
      '',
    ].join('\n');
    return { data: { scenario: 'ratio', runId: ctx.runId, pinned, bare: bareResult, intake: intakeResult, ratio: ratioValue, breaches }, markdown, breaches };
  });
}
