import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AuditResult } from './audit';
import type { OpenModelResult } from './open-model';

export interface Slo {
  p99Ms: number;
  maxErrorRate: number;
  maxLost: number;
  maxDuplicated: number;
  minCapacityPerSec: number;
}

export const SLO_FILE = resolve(__dirname, '..', 'slo.json');

/**
 * The thresholds; with `smoke`, the file's `smoke` block overrides some of them. A few seconds from a
 * cold process on a shared CI box say nothing about latency or capacity, so smoke runs keep the
 * correctness thresholds (errors, lost, duplicated) strict and relax only those.
 */
export function loadSlo(file = SLO_FILE, smoke = false): Slo {
  const json = JSON.parse(readFileSync(file, 'utf8')) as Partial<Slo> & { smoke?: Partial<Slo> };
  const raw = { ...json, ...(smoke ? json.smoke : {}) };
  for (const k of ['p99Ms', 'maxErrorRate', 'maxLost', 'maxDuplicated', 'minCapacityPerSec'] as const) {
    if (typeof raw[k] !== 'number' || !Number.isFinite(raw[k])) throw new Error(`${file}: ${k} must be a number`);
  }
  const { p99Ms, maxErrorRate, maxLost, maxDuplicated, minCapacityPerSec } = raw as Slo;
  return { p99Ms, maxErrorRate, maxLost, maxDuplicated, minCapacityPerSec };
}

/** Share of scheduled requests not answered with `okStatus` (refused, failed, dropped or unanswered). */
export function errorRate(run: OpenModelResult, okStatus = 202): number {
  if (run.scheduled === 0) return 0;
  return (run.scheduled - (run.statusCounts[okStatus] ?? 0)) / run.scheduled;
}

/** One line per breached threshold; empty when the run held. */
export function loadBreaches(slo: Slo, run: OpenModelResult): string[] {
  const out: string[] = [];
  if (run.latencyMs.p99 > slo.p99Ms) out.push(`p99 ${run.latencyMs.p99} ms > ${slo.p99Ms} ms (from scheduled send time)`);
  const rate = errorRate(run);
  if (rate > slo.maxErrorRate) out.push(`error rate ${(rate * 100).toFixed(3)} % > ${(slo.maxErrorRate * 100).toFixed(3)} %`);
  return out;
}

export function auditBreaches(slo: Slo, a: AuditResult): string[] {
  const out: string[] = [];
  if (a.lost > slo.maxLost)
    out.push(`lost ${a.lost} accepted registrations > ${slo.maxLost} (missing in PostgreSQL ${a.missingInPostgres}, on Kafka ${a.missingOnKafka})`);
  if (a.duplicatedOnKafka > slo.maxDuplicated) out.push(`duplicated ${a.duplicatedOnKafka} on Kafka > ${slo.maxDuplicated}`);
  if (a.storedAsDuplicate > 0) out.push(`${a.storedAsDuplicate} accepted registrations were projected as rejected_duplicate`);
  if (a.refusedButPublished) out.push(`${a.refusedButPublished} refused requests were published on Kafka`);
  if (a.refusedButWritten) out.push(`${a.refusedButWritten} refused requests were written to PostgreSQL`);
  if (!a.kafkaScanComplete) out.push('the Kafka scan did not finish in time: counts are incomplete');
  return out;
}

/** Every threshold with its measured value, for the HTML report's pass/fail table. */
export function thresholdRows(slo: Slo, run: OpenModelResult, a?: AuditResult): Array<{ name: string; limit: string; actual: string; ok: boolean }> {
  const rate = errorRate(run);
  return [
    { name: 'p99 from scheduled send', limit: `≤ ${slo.p99Ms} ms`, actual: `${run.latencyMs.p99} ms`, ok: run.latencyMs.p99 <= slo.p99Ms },
    { name: 'error rate', limit: `≤ ${(slo.maxErrorRate * 100).toFixed(3)} %`, actual: `${(rate * 100).toFixed(3)} %`, ok: rate <= slo.maxErrorRate },
    ...(a
      ? [
          { name: 'lost', limit: `≤ ${slo.maxLost}`, actual: String(a.lost), ok: a.lost <= slo.maxLost },
          { name: 'duplicated on Kafka', limit: `≤ ${slo.maxDuplicated}`, actual: String(a.duplicatedOnKafka), ok: a.duplicatedOnKafka <= slo.maxDuplicated },
        ]
      : []),
  ];
}
