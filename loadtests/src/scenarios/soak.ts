import { emptyOutcomes, runRegistrationLoad } from '../registration-load';
import { randomSeedBase } from '../registrations';
import { auditMarkdown, breachesMarkdown, openModelMarkdown } from '../report';
import { auditBreaches, loadBreaches, thresholdRows } from '../slo';
import type { SecondStats } from '../open-model';
import { auditIfAsked, topicEnds, withIntake, type ScenarioContext, type ScenarioOutcome } from './context';

/** Half of the capacity measured on the 2-core machine (docs/capacity.md): a long, boring day. */
const DEFAULT_RATE = 2000;

interface MemorySample {
  second: number;
  rssMiB: number;
  heapUsedMiB: number;
}

async function memory(target: string): Promise<{ rssMiB: number; heapUsedMiB: number } | undefined> {
  try {
    const text = await (await fetch(`${target}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const read = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text)?.[1]);
    const rss = read('process_resident_memory_bytes');
    const heap = read('nodejs_heap_size_used_bytes');
    return Number.isFinite(rss) ? { rssMiB: Math.round(rss / 2 ** 20), heapUsedMiB: Math.round(heap / 2 ** 20) } : undefined;
  } catch {
    return undefined;
  }
}

const p99Of = (seconds: SecondStats[]) => (seconds.length ? Math.max(...seconds.map((s) => s.p99)) : 0);

/**
 * A long run at half capacity (default 2,000/s for 30 min; --smoke: 100/s for 10 s), sampling the
 * intake's memory every few seconds. Drift is reported as the worst per-second p99 and the memory in
 * the first and last tenth of the run: steady numbers mean no leak and no slow degradation.
 */
export async function soak(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const rate = ctx.rate ?? (ctx.smoke ? 100 : DEFAULT_RATE);
  const durationSec = ctx.durationSec ?? (ctx.smoke ? 10 : 1800);
  const sampleEveryMs = ctx.smoke ? 1_000 : 5_000;

  return withIntake(ctx, {}, async (sut) => {
    const startOffsets = await topicEnds(ctx.infra, sut.submittedTopic);
    const outcomes = emptyOutcomes();
    const samples: MemorySample[] = [];
    const t0 = Date.now();
    const sampler = setInterval(() => {
      void memory(sut.target).then((m) => m && samples.push({ second: Math.round((Date.now() - t0) / 1000), ...m }));
    }, sampleEveryMs);
    process.stderr.write(`soak: ${rate}/s for ${durationSec} s against ${sut.target} (run ${ctx.runId})\n`);
    let run;
    try {
      run = await runRegistrationLoad({
        target: sut.target,
        steps: [{ ratePerSec: rate, durationSec }],
        runId: ctx.runId,
        firstSeed: randomSeedBase(),
        label: 'soak',
        outcomes,
        ...(ctx.connections ? { connections: ctx.connections } : {}),
        coldConnections: ctx.coldConnections === true,
      });
    } finally {
      clearInterval(sampler);
    }
    const auditResult = await auditIfAsked(ctx, sut, startOffsets, outcomes);
    const breaches = [...loadBreaches(ctx.slo, run), ...(auditResult ? auditBreaches(ctx.slo, auditResult) : [])];

    const tenth = Math.max(1, Math.floor(run.timeline.length / 10));
    const firstP99 = p99Of(run.timeline.slice(0, tenth));
    const lastP99 = p99Of(run.timeline.slice(-tenth));
    const firstMem = samples[0];
    const lastMem = samples[samples.length - 1];
    const drift: Array<[string, string | number]> = [
      ['worst per-second p99, first / last tenth (ms)', `${firstP99} / ${lastP99}`],
      ['intake RSS, first / last sample (MiB)', firstMem && lastMem ? `${firstMem.rssMiB} / ${lastMem.rssMiB}` : 'n/a'],
      ['intake heap used, first / last sample (MiB)', firstMem && lastMem ? `${firstMem.heapUsedMiB} / ${lastMem.heapUsedMiB}` : 'n/a'],
      ['intake RSS, highest sample (MiB)', samples.length ? Math.max(...samples.map((s) => s.rssMiB)) : 'n/a'],
    ];
    const markdown = [
      `# Soak — ${run.startedAt}`,
      '',
      `Run ${ctx.runId}: ${rate}/s for ${durationSec} s (open model) against ${sut.target}.`,
      '',
      breachesMarkdown(breaches),
      '',
      '## Drift',
      '',
      '| measure | value |',
      '| --- | --- |',
      ...drift.map(([k, v]) => `| ${k} | ${v} |`),
      '',
      `Memory samples (s: RSS MiB / heap MiB): ${samples.map((s) => `${s.second}: ${s.rssMiB}/${s.heapUsedMiB}`).join(', ') || 'none'}.`,
      '',
      '## Load',
      '',
      openModelMarkdown(run, !ctx.smoke && durationSec <= 120),
      '',
      '## No-loss audit',
      '',
      auditResult ? auditMarkdown(auditResult) : 'Skipped (--no-audit).',
      '',
    ].join('\n');
    const html = {
      title: `Soak: ${rate}/s for ${durationSec} s`,
      scenario: 'soak',
      summary: [
        ['run', ctx.runId],
        ['target', sut.target],
        ['p50 / p99 / max (ms)', `${run.latencyMs.p50} / ${run.latencyMs.p99} / ${run.latencyMs.max}`],
        ...drift,
      ] as Array<[string, string | number]>,
      thresholds: thresholdRows(ctx.slo, run, auditResult),
      timeline: run.timeline,
      statusCounts: run.statusCounts,
    };
    return {
      html,
      data: { scenario: 'soak', runId: ctx.runId, target: sut.target, rate, durationSec, slo: ctx.slo, breaches, run, memory: samples, audit: auditResult },
      markdown,
      breaches,
    };
  });
}
