import { readFileSync } from 'node:fs';

/**
 * The whole machine's CPU while a run loads it. The load generator only targets loopback addresses, so
 * it always shares the machine with the server: when the machine's CPUs are nearly all busy, part of
 * every latency is waiting for a CPU, whatever the server does, and on a VM the hypervisor may take
 * time too (steal). The report shows both next to the latency, so a reader can tell a slow server from
 * a saturated machine.
 */

/** Cumulative CPU time of all CPUs together, in clock ticks, from the first line of /proc/stat. */
export interface CpuTicks {
  cpus: number;
  /** user + nice + system + irq + softirq */
  busy: number;
  /** time the hypervisor ran something else while this VM wanted a CPU */
  steal: number;
  /** idle + iowait */
  idle: number;
}

export function parseProcStat(text: string): CpuTicks | undefined {
  const lines = text.split('\n');
  const total = lines[0]?.trim().split(/\s+/);
  if (!total || total[0] !== 'cpu' || total.length < 9) return undefined;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = total.slice(1, 9).map(Number) as number[];
  const cpus = lines.filter((l) => /^cpu\d+\s/.test(l)).length;
  if (![user, nice, system, idle, iowait, irq, softirq, steal].every(Number.isFinite) || cpus === 0) return undefined;
  return { cpus, busy: user! + nice! + system! + irq! + softirq!, steal: steal!, idle: idle! + iowait! };
}

/** Cores busy and stolen on average between two readings `seconds` apart. */
export function coresBetween(a: CpuTicks, b: CpuTicks, seconds: number, ticksPerSec: number): { busyCores: number; stealCores: number } {
  const per = (d: number) => Math.round((d / ticksPerSec / Math.max(seconds, 1e-9)) * 100) / 100;
  return { busyCores: per(b.busy - a.busy), stealCores: per(b.steal - a.steal) };
}

export interface MachineCpu {
  cpus: number;
  /** Average over the run. */
  busyCores: number;
  stealCores: number;
  /** busyCores / cpus */
  busyShare: number;
  /** Second i: the CPU used around i to i + 1 s after the start (see secondsFromWindows). */
  perSecond: Array<{ second: number; busyCores: number; stealCores: number }>;
}

/** A machine is called saturated above this share of its CPUs busy: queueing for a CPU is then common. */
export const SATURATED_SHARE = 0.7;

const read = (): CpuTicks | undefined => {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
};

/** One reading window: from and to in seconds after the start, and the cores used in between. */
interface Window {
  from: number;
  to: number;
  busyCores: number;
  stealCores: number;
}

/**
 * Second s of a run gets the window that holds its middle (s + 0.5): windows are read on a clock of
 * their own (start + k s), so late readings neither shift later seconds nor pile up; a reading delayed
 * across a whole second (a stalled process) covers both seconds with its average.
 */
export function secondsFromWindows(windows: readonly Window[]): MachineCpu['perSecond'] {
  const last = windows[windows.length - 1];
  if (!last) return [];
  const out: MachineCpu['perSecond'] = [];
  let w = 0;
  for (let second = 0; second + 0.5 < last.to; second++) {
    while (w < windows.length - 1 && windows[w]!.to <= second + 0.5) w++;
    const win = windows[w]!;
    if (win.from <= second + 0.5) out.push({ second, busyCores: win.busyCores, stealCores: win.stealCores });
  }
  return out;
}

/** Samples /proc/stat about every second until `stop()`; undefined from `stop()` where /proc is missing. */
export function sampleMachineCpu(ticksPerSec: number): { stop(): MachineCpu | undefined } {
  const t0 = performance.now();
  const first = read();
  const windows: Window[] = [];
  let prev = first ? { at: t0, ticks: first } : undefined;
  let k = 0;
  let timer: NodeJS.Timeout | undefined;
  const sample = () => {
    const now = performance.now();
    const ticks = read();
    if (prev && ticks && now > prev.at) {
      windows.push({ from: (prev.at - t0) / 1000, to: (now - t0) / 1000, ...coresBetween(prev.ticks, ticks, (now - prev.at) / 1000, ticksPerSec) });
      prev = { at: now, ticks };
    }
  };
  const schedule = () => {
    // The next whole second after now, on the run's own clock: a late reading does not push the rest.
    k = Math.max(k + 1, Math.ceil((performance.now() - t0) / 1000));
    timer = setTimeout(tick, Math.max(0, t0 + k * 1000 - performance.now()));
    timer.unref();
  };
  const tick = () => {
    sample();
    schedule();
  };
  if (first) schedule();
  return {
    stop() {
      if (timer) clearTimeout(timer);
      sample();
      const last = read();
      if (!first || !last) return undefined;
      const all = coresBetween(first, last, (performance.now() - t0) / 1000, ticksPerSec);
      return { cpus: last.cpus, ...all, busyShare: Math.round((all.busyCores / last.cpus) * 100) / 100, perSecond: secondsFromWindows(windows) };
    },
  };
}

/** "busy of cpus / steal", the short form for a table cell; 'n/a' where not measured. */
export const machineCell = (m: MachineCpu | undefined): string => (m ? `${m.busyCores} of ${m.cpus} / ${m.stealCores}` : 'n/a');

/** One line for a report: how busy the machine was, and what that means for the latency beside it. */
export function machineMarkdown(m: MachineCpu | undefined, generatorCores?: number): string {
  if (!m) return 'Machine CPU: not measured (no /proc/stat).';
  const mine = generatorCores === undefined ? '' : `, the load generator ${generatorCores} of them`;
  const line =
    `Machine CPU over the run: ${m.busyCores} of ${m.cpus} cores busy on average (${Math.round(m.busyShare * 100)} %${mine}), ` +
    `${m.stealCores} cores taken by the hypervisor (steal).`;
  return m.busyShare > SATURATED_SHARE
    ? `${line} **The machine was saturated** (over ${SATURATED_SHARE * 100} % busy): the latency above includes waiting for a CPU ` +
        "behind the processes that share it (load generator, broker, Redis, PostgreSQL), not only the server's own work."
    : line;
}
