import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { AuditResult } from './audit';
import type { ClosedModelResult } from './closed-model';
import { renderHtmlReport, type ReportInput } from './html-report';
import { machineMarkdown } from './machine';
import type { OpenModelResult } from './open-model';
import { errorRate } from './slo';

export const REPORTS_DIR = resolve(__dirname, '..', 'reports');

export type HtmlInput = Omit<ReportInput, 'generatedAt' | 'machine'>;

/** Writes reports/<scenario>-<timestamp>.json and .md (and .html when given charts); returns the paths. */
export function writeReport(scenario: string, data: unknown, markdown: string, html?: HtmlInput): string[] {
  mkdirSync(REPORTS_DIR, { recursive: true });
  const base = join(REPORTS_DIR, `${scenario}-${reportStamp()}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(data, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown);
  if (!html) return [`${base}.json`, `${base}.md`];
  const machine = `${cpus().length} CPUs, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  writeFileSync(`${base}.html`, renderHtmlReport({ ...html, generatedAt: new Date().toISOString(), machine, machineCpus: cpus().length }));
  return [`${base}.json`, `${base}.md`, `${base}.html`];
}

let stamp: string | undefined;
/** One timestamp per CLI run, so a run's report and its intake log share a name. */
export const reportStamp = () => (stamp ??= new Date().toISOString().replace(/[:.]/g, '-'));

const table = (head: string[], rows: Array<Array<string | number>>) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

const counts = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ') || 'none';

export function openModelMarkdown(run: OpenModelResult, withTimeline = true): string {
  const l = run.latencyMs;
  const lines = [
    table(
      ['scheduled', 'sent', 'dropped', 'late (>10 ms)', 'answered', 'achieved/s', 'error rate', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'],
      [
        [
          run.scheduled,
          run.sent,
          run.dropped,
          run.late,
          run.answered,
          run.achievedPerSec,
          `${(errorRate(run) * 100).toFixed(3)} %`,
          l.p50,
          l.p90,
          l.p99,
          l.p999,
          l.max,
        ],
      ],
    ),
    '',
    `Status codes: ${counts(run.statusCounts)}. Transport errors: ${counts(run.errors)}.`,
    `Driver: send lag p99 ${run.sendLagMs.p99} ms, max ${run.sendLagMs.max} ms; most in flight ${run.maxInFlight}; most queued in the client pool ${run.maxClientQueued}; ${run.connectionsOpenedFirst ? `${run.connectionsOpenedFirst} keep-alive connections opened before the schedule (as a load balancer holds them)` : 'connections opened during the run (--cold-connections)'}.`,
    machineMarkdown(run.machine),
  ];
  const cpu = run.timeline.some((t) => t.busyCores !== undefined);
  const cores = (v: number | undefined) => (v === undefined ? '' : v);
  if (withTimeline) {
    lines.push(
      '',
      '<details><summary>Per second (latency of the requests scheduled in that second)</summary>',
      '',
      table(
        ['s', 'offered', 'dropped', 'achieved', 'non-2xx', 'errors', 'p50 ms', 'p99 ms', 'max ms', ...(cpu ? ['machine busy cores', 'steal cores'] : [])],
        run.timeline.map((t) => [
          t.second,
          t.offered,
          t.dropped,
          t.achieved,
          t.non2xx,
          t.errors,
          t.p50,
          t.p99,
          t.max,
          ...(cpu ? [cores(t.busyCores), cores(t.stealCores)] : []),
        ]),
      ),
      '',
      '</details>',
    );
  }
  return lines.join('\n');
}

const orNa = (v: number | null) => (v === null ? 'n/a (no index key)' : v);

export function auditMarkdown(a: AuditResult): string {
  return [
    table(
      ['accepted (202)', 'in PostgreSQL', 'missing', 'on Kafka', 'missing on Kafka', 'duplicated on Kafka', 'stored as duplicate'],
      [[a.accepted, a.inPostgres, a.missingInPostgres, a.onKafka, a.missingOnKafka, a.duplicatedOnKafka, a.storedAsDuplicate]],
    ),
    '',
    table(
      ['refused (4xx)', 'refused but published', 'refused but written', 'uncertain (5xx / no answer)', 'uncertain published', 'uncertain written'],
      [[a.refused, orNa(a.refusedButPublished), orNa(a.refusedButWritten), a.uncertain, orNa(a.uncertainPublished), orNa(a.uncertainWritten)]],
    ),
    '',
    `Kafka messages scanned in the run's offset range: ${a.scannedMessages}${a.kafkaScanComplete ? '' : ' (scan INCOMPLETE)'}; ` +
      `projector lag when counting: ${a.projectorLagAtCount ?? 'not checked'}; audit took ${(a.waitedMs / 1000).toFixed(1)} s.` +
      (a.sampleMissing.length ? ` Missing (sample): ${a.sampleMissing.join(', ')}.` : ''),
  ].join('\n');
}

export function closedModelMarkdown(rows: Array<{ name: string; r: ClosedModelResult }>): string {
  return table(
    ['server', 'connections', 'duration s', 'req/s (all)', '2xx/s', 'non-2xx', 'errors', 'p50 ms', 'p99 ms', 'max ms'],
    rows.map(({ name, r }) => [
      name,
      r.connections,
      r.durationSec,
      r.reqPerSec,
      r.okPerSec,
      r.non2xx,
      r.errors,
      r.latencyMs.p50,
      r.latencyMs.p99,
      r.latencyMs.max,
    ]),
  );
}

export function breachesMarkdown(breaches: string[]): string {
  return breaches.length ? `**SLO breached:**\n\n${breaches.map((b) => `- ${b}`).join('\n')}` : '**All SLO thresholds held.**';
}

const PHASE_BUCKET = /^intake_registration_phase_seconds_bucket\{le="([^"]+)",phase="([^"]+)"\}$/;

/**
 * The intake's own view of the run (its `intake_registration_phase_seconds` histogram, after − before):
 * per phase, how many and the bucket bound under which half and 99 % finished. Next to the driver's
 * latency it shows what was spent on the server and in which step, and what was queueing in front of it.
 */
export function phaseMarkdown(delta: Record<string, number>): string {
  const phases = new Map<string, Array<[number, number]>>();
  for (const [k, v] of Object.entries(delta)) {
    const m = PHASE_BUCKET.exec(k);
    if (m) (phases.get(m[2]!) ?? phases.set(m[2]!, []).get(m[2]!)!).push([m[1] === '+Inf' ? Infinity : Number(m[1]), v]);
  }
  if (phases.size === 0) return 'The intake exposed no phase histogram.';
  const bound = (buckets: Array<[number, number]>, q: number) => {
    const total = buckets[buckets.length - 1]![1];
    const hit = buckets.find(([, c]) => c >= q * total);
    return hit === undefined || hit[0] === Infinity ? '> 5 s' : `≤ ${hit[0] * 1000} ms`;
  };
  const rows = ['admission', 'claim', 'publish', 'total']
    .filter((p) => phases.has(p))
    .map((p) => {
      const buckets = phases.get(p)!.sort((a, b) => a[0] - b[0]);
      const total = buckets[buckets.length - 1]![1];
      const share = (ms: number) => `${((100 * (buckets.find(([le]) => le >= ms / 1000)?.[1] ?? total)) / Math.max(total, 1)).toFixed(1)} %`;
      return `| ${p} | ${total} | ${bound(buckets, 0.5)} | ${bound(buckets, 0.99)} | ${share(5)} | ${share(20)} | ${share(50)} |`;
    });
  return [
    '| phase (server side) | count | p50 | p99 | within 5 ms | within 20 ms | within 50 ms |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
