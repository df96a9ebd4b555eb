import { setTimeout as sleep } from 'node:timers/promises';
import { machineCell } from '../machine';
import type { OpenModelResult } from '../open-model';
import { cpuSince } from '../processes';
import { emptyOutcomes, leadInBreaches, runLeadIn, runRegistrationLoad } from '../registration-load';
import { randomSeedBase } from '../registrations';
import { auditMarkdown, breachesMarkdown, openModelMarkdown } from '../report';
import { auditBreaches, errorRate, loadBreaches } from '../slo';
import { auditIfAsked, metricsDelta, scrapeIntake, topicEnds, withIntake, type ScenarioContext, type ScenarioOutcome } from './context';
import { ratio } from './ratio';

const DEFAULT_RATES = [500, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000];
const PAUSE_MS = 3_000;

/**
 * Steps the arrival rate up (each step its own open-model run of --duration s, default 10, with a
 * short pause between) until a step breaks the latency or error SLO; the capacity is the highest
 * rate that held. Then one no-loss audit over every step. A started intake gets its global admission
 * limit lifted, so the search finds what the service can do rather than what it is configured to let in.
 */
export async function capacity(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const found = await searchCapacity(ctx);
  // The same run then measures how far the intake is from a bare Fastify route on the same core
  // (closed loop, pinned, its own intake): the capacity figure alone says little across machines.
  process.stderr.write('capacity: ratio to a bare Fastify route on the same core (closed loop)\n');
  const r = await ratio({ ...ctx, startIntake: ctx.target === undefined });
  const ratioValue = (r.data as { ratio?: number | null }).ratio ?? null;
  return {
    ...found,
    markdown: [found.markdown, `## Ratio to a bare Fastify route, same run (${ratioValue ?? 'n/a'})`, '', r.markdown.split('\n').slice(2).join('\n')].join(
      '\n',
    ),
    data: { ...found.data, ratio: r.data },
    breaches: [...found.breaches, ...r.breaches],
    ...(found.html
      ? { html: { ...found.html, summary: [...found.html.summary, ['ratio bare ÷ intake (closed loop, same core)', String(ratioValue ?? 'n/a')]] } }
      : {}),
  };
}

/** The stepped open-model search for the highest arrival rate that holds the SLO, then the no-loss audit. */
async function searchCapacity(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const rates = ctx.rates ?? (ctx.smoke ? [100, 200] : DEFAULT_RATES);
  const stepSec = ctx.durationSec ?? (ctx.smoke ? 3 : 10);

  return withIntake(ctx, { globalLimit: { burst: 1_000_000, perSec: 1_000_000 } }, async (sut) => {
    const startOffsets = await topicEnds(ctx.infra, sut.submittedTopic);
    const outcomes = emptyOutcomes();
    const firstSeed = randomSeedBase();
    const steps: Array<{ rate: number; held: boolean; breaches: string[]; run: OpenModelResult; intakeCpuCores?: number; projectorCores?: number }> = [];
    const leadIn =
      ctx.leadIn === false ? undefined : await runLeadIn({ label: 'capacity', target: sut.target, runId: ctx.runId, firstSeed, smoke: ctx.smoke, outcomes });
    let seedOffset = leadIn?.scheduled ?? 0;
    if (leadIn) await sleep(PAUSE_MS);
    for (const rate of rates) {
      const before = await scrapeIntake(sut.target);
      const projectorCpu = cpuSince(sut.projectorPid);
      process.stderr.write(`capacity: step ${rate}/s for ${stepSec} s against ${sut.target}\n`);
      const run = await runRegistrationLoad({
        target: sut.target,
        steps: [{ ratePerSec: rate, durationSec: stepSec }],
        runId: ctx.runId,
        firstSeed: firstSeed + seedOffset,
        label: `capacity ${rate}/s`,
        outcomes,
        ...(ctx.connections ? { connections: ctx.connections } : {}),
        coldConnections: ctx.coldConnections === true,
      });
      seedOffset += run.scheduled;
      const cpu = metricsDelta(before, await scrapeIntake(sut.target)).process_cpu_seconds_total;
      const projectorCores = projectorCpu();
      const breaches = loadBreaches(ctx.slo, run);
      steps.push({
        rate,
        held: breaches.length === 0,
        breaches,
        run,
        ...(projectorCores === undefined ? {} : { projectorCores }),
        ...(cpu === undefined ? {} : { intakeCpuCores: Math.round((cpu / (run.elapsedMs / 1000)) * 100) / 100 }),
      });
      if (breaches.length) break;
      await sleep(PAUSE_MS);
    }
    const held = steps.filter((s) => s.held).map((s) => s.rate);
    const capacityPerSec = held.length ? Math.max(...held) : 0;
    const allHeld = steps.every((s) => s.held);
    const auditResult = await auditIfAsked(ctx, sut, startOffsets, outcomes);
    const breaches = [
      ...leadInBreaches(leadIn),
      // Only a limit actually found counts against minCapacityPerSec (not a smoke run that never hit one).
      ...(!allHeld && capacityPerSec < ctx.slo.minCapacityPerSec ? [`capacity ${capacityPerSec}/s < ${ctx.slo.minCapacityPerSec}/s (minCapacityPerSec)`] : []),
      ...(auditResult ? auditBreaches(ctx.slo, auditResult) : []),
    ];
    const markdown = [
      `# Capacity — ${steps[0]?.run.startedAt ?? ''}`,
      '',
      `Run ${ctx.runId} against ${sut.target}${sut.pid ? ` (intake pid ${sut.pid}, started by the scenario, global admission limit lifted)` : ''}. ` +
        `${leadIn ? `A ${leadIn.durationSec} s lead-in at ${leadIn.ratePerSec}/s (${leadIn.accepted} of ${leadIn.scheduled} accepted; audited, not counted)` : 'No lead-in (--no-lead-in)'}, then steps of ${stepSec} s, ${PAUSE_MS / 1000} s apart; a step holds when p99 from scheduled send ≤ ${ctx.slo.p99Ms} ms and error rate ≤ ${ctx.slo.maxErrorRate * 100} %.`,
      '',
      `**Highest rate that held: ${capacityPerSec}/s.**` + (allHeld ? ' Every step held: the limit lies higher (add --rates).' : ''),
      '',
      breachesMarkdown(breaches),
      '',
      '| offered/s | held | achieved/s | p50 ms | p99 ms | max ms | error rate | dropped | API CPU (cores) | projector CPU (cores) | machine busy / steal (cores) | why not |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...steps.map(
        (s) =>
          `| ${s.rate} | ${s.held ? 'yes' : 'no'} | ${s.run.achievedPerSec} | ${s.run.latencyMs.p50} | ${s.run.latencyMs.p99} | ${s.run.latencyMs.max} | ` +
          `${(errorRate(s.run) * 100).toFixed(3)} % | ${s.run.dropped} | ${s.intakeCpuCores ?? 'n/a'} | ${s.projectorCores ?? 'n/a'} | ` +
          `${machineCell(s.run.machine)} | ${s.breaches.join('; ')} |`,
      ),
      '',
      `Refusals by code (all steps, lead-in included): ${
        Object.entries(outcomes.refusalCodes)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || 'none'
      }.`,
      '',
      '## Steps in detail',
      '',
      ...steps.flatMap((s) => [`### ${s.rate}/s`, '', openModelMarkdown(s.run), '']),
      '## No-loss audit (all steps)',
      '',
      auditResult ? auditMarkdown(auditResult) : 'Skipped (--no-audit).',
      '',
    ].join('\n');
    // One timeline for the charts: the steps back to back (pauses left out), status codes summed.
    const timeline = steps.flatMap((s, i) => {
      const offset = steps.slice(0, i).reduce((n, p) => n + p.run.timeline.length, 0);
      return s.run.timeline.map((t) => ({ ...t, second: t.second + offset }));
    });
    const statusCounts: Record<string, number> = {};
    for (const s of steps) for (const [k, v] of Object.entries(s.run.statusCounts)) statusCounts[k] = (statusCounts[k] ?? 0) + v;
    return {
      html: {
        title: `Capacity: highest rate that held ${capacityPerSec}/s`,
        scenario: 'capacity',
        summary: [
          ['run', ctx.runId],
          ['target', sut.target],
          ...steps.map(
            (s) => [`${s.rate}/s`, `${s.held ? 'held' : 'failed'}: p99 ${s.run.latencyMs.p99} ms, achieved ${s.run.achievedPerSec}/s`] as [string, string],
          ),
        ],
        timeline,
        statusCounts,
      },
      data: {
        scenario: 'capacity',
        runId: ctx.runId,
        target: sut.target,
        leadIn,
        slo: ctx.slo,
        capacityPerSec,
        breaches,
        steps,
        refusalCodes: outcomes.refusalCodes,
        audit: auditResult,
      },
      markdown,
      breaches,
    };
  });
}
