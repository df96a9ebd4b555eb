import { coresBetween, machineMarkdown, parseProcStat, sampleMachineCpu, secondsFromWindows, type MachineCpu } from '../src/machine';
import { CLOCK_TICKS } from '../src/processes';

const STAT = (user: number, steal: number, idle: number) =>
  [`cpu  ${user} 10 ${user / 2} ${idle} 5 0 20 ${steal} 0 0`, 'cpu0 1 0 1 1 0 0 0 0 0 0', 'cpu1 1 0 1 1 0 0 0 0 0 0', 'intr 12345', 'ctxt 999'].join('\n');

describe('machine CPU from /proc/stat', () => {
  it('adds user, nice, system, irq and softirq as busy; counts the CPUs; keeps steal apart', () => {
    expect(parseProcStat(STAT(1000, 30, 5000))).toEqual({ cpus: 2, busy: 1000 + 10 + 500 + 0 + 20, steal: 30, idle: 5005 });
    expect(parseProcStat('intr 1\n')).toBeUndefined();
    expect(parseProcStat('cpu  1 2 x 4 5 6 7 8\ncpu0 1\n')).toBeUndefined();
  });

  it('turns two readings into cores busy and stolen on average', () => {
    const a = parseProcStat(STAT(1000, 30, 5000))!;
    const b = parseProcStat(STAT(1200, 40, 5050))!; // +200 user, +100 system, +10 steal over 2 s at 100 ticks/s
    expect(coresBetween(a, b, 2, 100)).toEqual({ busyCores: 1.5, stealCores: 0.05 });
  });

  it('reads this machine: a second of this process spinning shows as at least most of a busy core', async () => {
    const sampler = sampleMachineCpu(CLOCK_TICKS);
    const until = Date.now() + 1_500;
    while (Date.now() < until) {
      /* one core busy */
    }
    await new Promise((r) => setTimeout(r, 50));
    const m = sampler.stop()!;
    expect(m.cpus).toBeGreaterThanOrEqual(1);
    // The spin's core shows as busy, or as stolen where the hypervisor took part of it.
    expect(m.busyCores + m.stealCores).toBeGreaterThanOrEqual(0.6);
    expect(m.busyCores).toBeLessThanOrEqual(m.cpus + 0.05);
    expect(m.busyShare).toBeCloseTo(m.busyCores / m.cpus, 1);
  });

  it('gives each second the reading window that holds its middle, however late the readings came', () => {
    const w = (from: number, to: number, busyCores: number) => ({ from, to, busyCores, stealCores: 0 });
    // On time, then one reading 1.4 s late (a stalled process: it covers seconds 1 and 2), then on time again.
    const seconds = secondsFromWindows([w(0, 1.0, 1.1), w(1.0, 2.9, 1.9), w(2.9, 4.0, 1.2), w(4.0, 5.02, 1.3)]);
    expect(seconds.map((s) => [s.second, s.busyCores])).toEqual([
      [0, 1.1],
      [1, 1.9],
      [2, 1.9],
      [3, 1.2],
      [4, 1.3],
    ]);
    expect(secondsFromWindows([])).toEqual([]);
  });

  it('says when the machine was saturated, and what that means for the latency', () => {
    const m = (busyCores: number): MachineCpu => ({ cpus: 2, busyCores, stealCores: 0.07, busyShare: busyCores / 2, perSecond: [] });
    expect(machineMarkdown(m(1.74), 0.23)).toMatch(
      /1\.74 of 2 cores busy on average \(87 %, the load generator 0\.23 of them\), 0\.07 cores taken by the hypervisor/,
    );
    expect(machineMarkdown(m(1.74))).toMatch(/saturated/);
    expect(machineMarkdown(m(0.9))).not.toMatch(/saturated/);
    expect(machineMarkdown(undefined)).toMatch(/not measured/);
  });
});
