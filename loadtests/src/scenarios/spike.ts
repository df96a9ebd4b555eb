import { machineCell } from '../machine';
import { cpuSince } from '../processes';
import { emptyOutcomes, leadInBreaches, measuredRefusals, runLeadIn, runRegistrationLoad } from '../registration-load';
import { randomSeedBase } from '../registrations';
import { auditMarkdown, breachesMarkdown, openModelMarkdown, phaseMarkdown } from '../report';
import { auditBreaches, loadBreaches, thresholdRows } from '../slo';
import { auditIfAsked, metricsDelta, scrapeIntake, topicEnds, withIntake, type ScenarioContext, type ScenarioOutcome } from './context';

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

  return withIntake(ctx, {}, async (sut) => {
    const startOffsets = await topicEnds(ctx.infra, sut.submittedTopic);
    const outcomes = emptyOutcomes();
    let firstSeed = randomSeedBase();
    const leadIn =
      ctx.leadIn === false ? undefined : await runLeadIn({ label: 'spike', target: sut.target, runId: ctx.runId, firstSeed, smoke: ctx.smoke, outcomes });
    firstSeed += leadIn?.scheduled ?? 0;
    const before = await scrapeIntake(sut.target);
    const projectorCpu = cpuSince(sut.projectorPid);
    const driverCpu = cpuSince(process.pid);
    process.stderr.write(`spike: ${count} registrations at ${rate.toFixed(1)}/s against ${sut.target} (run ${ctx.runId})\n`);
    const run = await runRegistrationLoad({
      target: sut.target,
      steps,
      maxRequests: count,
      runId: ctx.runId,
      firstSeed,
      label: 'spike',
      outcomes,
      ...(ctx.connections ? { connections: ctx.connections } : {}),
      coldConnections: ctx.coldConnections === true,
    });
    const intakeMetrics = metricsDelta(before, await scrapeIntake(sut.target));
    const projectorCores = projectorCpu();
    const driverCores = driverCpu();
    const auditResult = await auditIfAsked(ctx, sut, startOffsets, outcomes);
    const breaches = [...leadInBreaches(leadIn), ...loadBreaches(ctx.slo, run), ...(auditResult ? auditBreaches(ctx.slo, auditResult) : [])];
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
