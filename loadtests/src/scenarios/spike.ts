import { startFront, type Front } from '../edge-process';
import { machineCell } from '../machine';
import type { LeadIn } from '../registration-load';
import type { OpenModelResult } from '../open-model';
import type { AuditResult } from '../audit';
import { cpuSince } from '../processes';
import { emptyOutcomes, leadInBreaches, measuredRefusals, runLeadIn, runRegistrationLoad } from '../registration-load';
import { randomSeedBase } from '../registrations';
import { join } from 'node:path';
import { auditMarkdown, breachesMarkdown, openModelMarkdown, phaseMarkdown, REPORTS_DIR, reportStamp } from '../report';
import { auditBreaches, loadBreaches, thresholdRows } from '../slo';
import { auditIfAsked, metricsDelta, scrapeIntake, topicEnds, withIntake, type IntakeUnderTest, type ScenarioContext, type ScenarioOutcome } from './context';

/**
 * The seed's peak minute: 80,000 unique applicants at a constant 1,333/s (60 s), then the no-loss audit.
 * It came amid a registration already running, so a lead-in (`LEAD_IN`: 200/s for 5 s, audited, not
 * counted) reaches the intake first; `--no-lead-in` sends the surge to an intake fresh from boot.
 * --smoke: 100/s for 5 s. --rate/--duration/--count override (count wins over rate × duration).
 * A started intake keeps the service's default admission limits: the surge must fit under them.
 */
export async function spike(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const durationSec = ctx.durationSec ?? (ctx.smoke ? 5 : 60);
  const count = ctx.count ?? (ctx.rate ? Math.round(ctx.rate * durationSec) : ctx.smoke ? 500 : 80_000);
  const rate = ctx.rate ?? count / durationSec;
  const steps = [{ ratePerSec: rate, durationSec: Math.ceil(count / rate) }];

  const fronts = ctx.throughEdge ?? ['direct'];

  return withIntake(ctx, {}, async (sut) => {
    const startOffsets = await topicEnds(ctx.infra, sut.submittedTopic);
    const outcomes = emptyOutcomes();
    let firstSeed = randomSeedBase();
    const passes: Pass[] = [];
    for (const [i, kind] of fronts.entries()) {
      const front = await startFront(kind, sut.target, join(REPORTS_DIR, `spike-${reportStamp()}-${i + 1}`));
      try {
        const leadIn =
          ctx.leadIn === false
            ? undefined
            : await runLeadIn({ label: `spike (${kind})`, target: front.target, runId: ctx.runId, firstSeed, smoke: ctx.smoke, outcomes });
        firstSeed += leadIn?.scheduled ?? 0;
        const before = await scrapeIntake(sut.target);
        const projectorCpu = cpuSince(sut.projectorPid);
        const driverCpu = cpuSince(process.pid);
        const frontCpu0 = front.cpuSeconds();
        const t0 = Date.now();
        process.stderr.write(`spike: ${count} registrations at ${rate.toFixed(1)}/s against ${front.target} (${kind}, run ${ctx.runId})\n`);
        const run = await runRegistrationLoad({
          target: front.target,
          steps,
          maxRequests: count,
          runId: ctx.runId,
          firstSeed,
          label: fronts.length > 1 ? `spike ${kind}` : 'spike',
          outcomes,
          ...(ctx.connections ? { connections: ctx.connections } : {}),
          coldConnections: ctx.coldConnections === true,
        });
        firstSeed += run.scheduled;
        const frontCpu1 = front.cpuSeconds();
        const frontCpuSeconds = frontCpu0 === undefined || frontCpu1 === undefined ? undefined : frontCpu1 - frontCpu0;
        passes.push({
          front: kind,
          target: front.target,
          leadIn,
          run,
          intakeMetrics: metricsDelta(before, await scrapeIntake(sut.target)),
          projectorCores: projectorCpu(),
          driverCores: driverCpu(),
          frontCores: frontCpuSeconds === undefined ? undefined : Math.round((frontCpuSeconds / ((Date.now() - t0) / 1000)) * 100) / 100,
          frontCpuUsPerRequest: frontCpuSeconds === undefined || run.answered === 0 ? undefined : Math.round((frontCpuSeconds * 1e6) / run.answered),
        });
      } finally {
        await front.stop();
      }
    }
    const auditResult = await auditIfAsked(ctx, sut, startOffsets, outcomes);
    const breaches = [
      ...passes.flatMap((p) => [...leadInBreaches(p.leadIn), ...loadBreaches(ctx.slo, p.run)].map((b) => (passes.length > 1 ? `${p.front}: ${b}` : b))),
      ...(auditResult ? auditBreaches(ctx.slo, auditResult) : []),
    ];
    if (passes.length > 1) return compared(ctx, { count, rate, passes, auditResult, breaches, sut });
    const { leadIn, run, intakeMetrics, projectorCores, driverCores } = passes[0]!;
    const intakeCpu = intakeMetrics.process_cpu_seconds_total;
    const markdown = [
      `# Spike — ${run.startedAt}`,
      '',
      `Run ${ctx.runId}: ${count} registrations at ${rate.toFixed(1)}/s (open model) against ${sut.target}${sut.pid ? ` (intake pid ${sut.pid}, started by the scenario)` : ''}.`,
      leadIn
        ? `Lead-in: ${leadIn.scheduled} registrations at ${leadIn.ratePerSec}/s for ${leadIn.durationSec} s just before (the peak came amid running registration), audited with the rest, not counted in the figures below (their p99: ${leadIn.p99Ms} ms).`
        : 'No lead-in (--no-lead-in): the surge met an intake fresh from boot.',
      `SLO: p99 ≤ ${ctx.slo.p99Ms} ms from scheduled send, error rate ≤ ${ctx.slo.maxErrorRate * 100} %, lost ≤ ${ctx.slo.maxLost}, duplicated ≤ ${ctx.slo.maxDuplicated}.`,
      '',
      breachesMarkdown(breaches),
      '',
      '## Load',
      '',
      openModelMarkdown(run),
      '',
      `Refusals by code: ${
        Object.entries(measuredRefusals(outcomes, leadIn))
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || 'none'
      }.`,
      intakeCpu === undefined
        ? ''
        : `Intake API process CPU over the run: ${intakeCpu} s (${(intakeCpu / (run.elapsedMs / 1000)).toFixed(2)} cores on average).`,
      projectorCores === undefined ? '' : `Projector process: ${projectorCores} cores on average over the run.`,
      driverCores === undefined
        ? ''
        : `Load generator (this process): ${driverCores} cores on average over the run — taken from the same cores when it runs on the server's machine.`,
      '',
      '## No-loss audit',
      '',
      auditResult ? auditMarkdown(auditResult) : 'Skipped (--no-audit).',
      '',
      '## Where the time went on the server',
      '',
      phaseMarkdown(intakeMetrics),
      '',
      '## Intake counters over the run',
      '',
      '```',
      ...Object.entries(intakeMetrics)
        .filter(([k]) => !k.startsWith('intake_registration_phase_seconds'))
        .map(([k, v]) => `${k} ${v}`),
      '```',
      '',
    ].join('\n');
    const html = {
      title: `Spike: ${count} registrations at ${rate.toFixed(0)}/s`,
      scenario: 'spike',
      summary: [
        ['run', ctx.runId],
        ['target', sut.target],
        ['scheduled / answered', `${run.scheduled} / ${run.answered}`],
        ['lead-in (not counted)', leadIn ? `${leadIn.scheduled} at ${leadIn.ratePerSec}/s, ${leadIn.accepted} accepted` : 'none'],
        ['p50 / p99 / max (ms)', `${run.latencyMs.p50} / ${run.latencyMs.p99} / ${run.latencyMs.max}`],
        ...(run.machine ? [['machine CPU busy / steal (cores, average)', machineCell(run.machine)] as [string, string]] : []),
        ...(auditResult
          ? [['accepted / in PostgreSQL / on Kafka', `${auditResult.accepted} / ${auditResult.inPostgres} / ${auditResult.onKafka}`] as [string, string]]
          : []),
      ] as Array<[string, string | number]>,
      thresholds: thresholdRows(ctx.slo, run, auditResult),
      timeline: run.timeline,
      statusCounts: run.statusCounts,
    };
    return {
      html,
      data: {
        scenario: 'spike',
        runId: ctx.runId,
        target: sut.target,
        rate,
        count,
        leadIn,
        slo: ctx.slo,
        breaches,
        run,
        refusalCodes: measuredRefusals(outcomes, leadIn),
        audit: auditResult,
        intakeMetrics,
        projectorCores,
      },
      markdown,
      breaches,
    };
  });
}

interface Pass {
  front: Front;
  target: string;
  leadIn: LeadIn | undefined;
  run: OpenModelResult;
  intakeMetrics: Record<string, number>;
  projectorCores: number | undefined;
  driverCores: number | undefined;
  /** The front's own processes (the edge, nginx's master and worker), cores on average over the pass. */
  frontCores: number | undefined;
  /** The front's CPU time per answered request, µs: what it costs, less dependent on what else ran than latency is. */
  frontCpuUsPerRequest: number | undefined;
}

const FRONT_NAMES: Record<Front, string> = {
  direct: 'straight to the intake',
  fastify: 'through the edge (services/edge: Fastify, @fastify/http-proxy)',
  nginx: 'through nginx (infra/edge/nginx.conf.template)',
};

/** `--through-edge a,b,c`: the same spike through each front in turn, one intake, one audit, side by side. */
function compared(
  ctx: ScenarioContext,
  o: { count: number; rate: number; passes: Pass[]; auditResult: AuditResult | undefined; breaches: string[]; sut: IntakeUnderTest },
): ScenarioOutcome {
  const cores = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(2));
  const intakeCores = (p: Pass) => {
    const cpu = p.intakeMetrics.process_cpu_seconds_total;
    return cpu === undefined ? undefined : cpu / (p.run.elapsedMs / 1000);
  };
  const direct = o.passes.find((p) => p.front === 'direct');
  const rows = o.passes.map((p) => [
    FRONT_NAMES[p.front],
    `${p.run.answered} / ${p.run.scheduled}`,
    p.run.latencyMs.p50,
    p.run.latencyMs.p99,
    p.run.latencyMs.max,
    direct && p !== direct
      ? `${(p.run.latencyMs.p50 / direct.run.latencyMs.p50).toFixed(2)} / ${(p.run.latencyMs.p99 / direct.run.latencyMs.p99).toFixed(2)}`
      : '—',
    Object.entries(p.run.statusCounts)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', '),
    cores(p.frontCores),
    p.frontCpuUsPerRequest ?? 'n/a',
    cores(intakeCores(p)),
    cores(p.driverCores),
    p.run.machine ? machineCell(p.run.machine) : 'n/a',
  ]);
  const markdown = [
    `# Spike through the fronts — ${o.passes[0]!.run.startedAt}`,
    '',
    `Run ${ctx.runId}: ${o.count} registrations at ${o.rate.toFixed(1)}/s (open model) through each front in turn, the same intake ` +
      `(${o.sut.target}${o.sut.pid ? `, pid ${o.sut.pid}` : ''}) behind all of them, in this order: ${o.passes.map((p) => p.front).join(', ')}. ` +
      `Each pass has its own lead-in (200/s for 5 s, through the same front, not counted). Every front believes X-Forwarded-For from loopback (the driver's simulated phones).`,
    '',
    breachesMarkdown(o.breaches),
    '',
    '| front | answered / scheduled | p50 ms | p99 ms | max ms | p50 / p99 vs direct | status codes | front CPU (cores) | front CPU per request (µs) | intake API CPU (cores) | load generator CPU (cores) | machine CPU busy / steal |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    ...o.passes.flatMap((p, i) => [`## Pass ${i + 1}: ${FRONT_NAMES[p.front]}`, '', openModelMarkdown(p.run, false), '', phaseMarkdown(p.intakeMetrics), '']),
    '## No-loss audit (every pass)',
    '',
    o.auditResult ? auditMarkdown(o.auditResult) : 'Skipped (--no-audit).',
    '',
  ].join('\n');
  return {
    data: { scenario: 'spike', runId: ctx.runId, rate: o.rate, count: o.count, slo: ctx.slo, breaches: o.breaches, passes: o.passes, audit: o.auditResult },
    markdown,
    breaches: o.breaches,
  };
}
