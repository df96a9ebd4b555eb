// Jest globalTeardown of the chaos suite: turns the scenarios' reports (.run/chaos/results.jsonl, one
// JSON line each) into the table of docs/reliability.md, printed and written to .run/chaos/reliability.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import type { Report } from './harness/checker';

type Row = Omit<Report, 'badAnswers'> & { badAnswers: number; people: number; ratePerSec: number; faultSec: number; readyDuringFaultPct?: number | null };

const FAULTS: Record<string, string> = {
  'kafka-single-sigkill': 'Kafka broker SIGKILL (single node)',
  'kafka-3node-sigkill': 'One broker of three SIGKILLed (RF 3, min ISR 2)',
  'kafka-lost-ack': 'Lost acks: broker frozen (SIGSTOP), producer retries',
  'consumer-sigkill-mid-drain': 'Consumer SIGKILL mid-drain (projector, email, NIK, enrollment)',
  'postgres-down': 'PostgreSQL down (refused)',
  'postgres-hung': 'PostgreSQL hung (SIGSTOP, not refused)',
  'redis-down': 'Redis down',
  'registry-errors-slow': 'Registry at 50 % errors and slow',
  'sigterm-rolling': 'SIGTERM under load, every service (rolling)',
  'poison-pill': 'Poison pills (non-UUID event id, NUL character, btree-sized index value)',
};

function table(rows: Row[]): string {
  const head =
    '| Fault | Load during it | Answers during it (by status) | 503 share | Bad answers | Lost | Doubled (reg/mail/registry/seat) | Duplicate events (deduped) | Recovery | Intake ready during it | Result |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|';
  const line = (r: Row) => {
    const lost = r.lost.registrations + r.lost.stuck;
    const d = r.doubled;
    const doubled = d.registrations + d.mails + d.registryCalls + d.seats;
    const ok = r.badAnswers === 0 && lost === 0 && doubled === 0 && r.refusedButWritten === 0 && r.overQuota.registry === 0 && r.overQuota.mails === 0;
    const statuses = Object.entries(r.duringFault.byStatus)
      .map(([s, n]) => `${s === '0' ? 'none' : s}: ${n}`)
      .join(', ');
    return `| ${FAULTS[r.scenario] ?? r.scenario} (${r.faultSec ? `${r.faultSec} s` : 'sequence'}) | ${r.duringFault.perSec} req/s (${r.people} people at ${r.ratePerSec}/s) | ${statuses} | ${r.duringFault.share503} % | ${r.badAnswers} | ${lost} | ${doubled} (${d.registrations}/${d.mails}/${d.registryCalls}/${d.seats}) | ${d.duplicateEvents} | ${r.recoveryMs === null ? '—' : `${(r.recoveryMs / 1000).toFixed(1)} s`} | ${r.readyDuringFaultPct == null ? '—' : `${r.readyDuringFaultPct} % of samples`} | ${ok ? 'kept' : 'BROKEN'} |`;
  };
  return [head, ...rows.map(line)].join('\n');
}

export default async function chaosReport(): Promise<void> {
  const dir = join(__dirname, '..', '..', '.run', 'chaos');
  const file = process.env.CHAOS_RESULTS ?? join(dir, 'results.jsonl');
  if (!existsSync(file)) return;
  // The last report of each scenario (a file kept across runs holds older ones too).
  const byScenario = new Map<string, Row>();
  for (const l of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(l) as Row;
    byScenario.set(r.scenario, r);
  }
  const machine = `${hostname()}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`;
  const md = `Measured ${new Date().toISOString()} on ${machine}.\n\n${table([...byScenario.values()])}\n`;
  writeFileSync(join(dir, 'reliability.md'), md);
  process.stdout.write(`\n${md}`);
}
