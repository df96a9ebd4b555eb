import { generateValidPerson } from '@gelombang/nik';
import { normaliseName, PopulationRegistry } from '../src/domain/registry';

const TODAY = new Date('2026-11-30T00:00:00Z');
const person = (seed: number) => ({ ...generateValidPerson(seed, TODAY), fullName: 'Siti Nurhaliza' });

describe('PopulationRegistry', () => {
  it('in strict mode knows only loaded people: MATCH, DATA_MISMATCH, INACTIVE, NOT_FOUND', () => {
    const r = new PopulationRegistry({ mode: 'strict', quotaPerSec: 100, now: () => TODAY.getTime() });
    const [a, b, c] = [person(1), person(2), person(3)];
    r.load([{ ...a }, { ...b, status: 'inactive' }]);
    expect(r.verify({ nik: a.nik, fullName: '  siti   NURHALIZA ', birthDate: a.birthDate })).toBe('MATCH');
    expect(r.verify({ nik: a.nik, fullName: 'Siti Nurhalisa', birthDate: a.birthDate })).toBe('DATA_MISMATCH');
    expect(r.verify({ nik: a.nik, fullName: a.fullName, birthDate: '1970-01-01' })).toBe('DATA_MISMATCH');
    expect(r.verify({ nik: b.nik, fullName: b.fullName, birthDate: b.birthDate })).toBe('INACTIVE');
    // Valid structure, date matching: still unknown in strict mode.
    expect(r.verify({ nik: c.nik, fullName: c.fullName, birthDate: c.birthDate })).toBe('NOT_FOUND');
    expect(r.stats().byResult).toEqual({ MATCH: 1, NOT_FOUND: 1, DATA_MISMATCH: 2, INACTIVE: 1 });
    expect(r.stats().answered).toBe(5);
  });

  it('in open mode also matches any well-formed NIK whose encoded date is the stated one, unless listed absent', () => {
    const r = new PopulationRegistry({ mode: 'open', quotaPerSec: 100, now: () => TODAY.getTime() });
    const [a, b] = [person(10), person(11)];
    r.load([], [b.nik]);
    expect(r.verify({ nik: a.nik, fullName: 'Anyone', birthDate: a.birthDate })).toBe('MATCH');
    expect(r.verify({ nik: a.nik, fullName: 'Anyone', birthDate: '1970-01-01' })).toBe('DATA_MISMATCH');
    expect(r.verify({ nik: b.nik, fullName: 'Anyone', birthDate: b.birthDate })).toBe('NOT_FOUND');
    expect(r.verify({ nik: '9904110609970001', fullName: 'Anyone', birthDate: '1997-09-06' })).toBe('NOT_FOUND'); // province 99
    expect(r.verify({ nik: '3204110609970000', fullName: 'Anyone', birthDate: '1997-09-06' })).toBe('NOT_FOUND'); // serial 0000
    // A loaded person follows the strict rules even in open mode; loading again lifts "absent".
    r.load([{ ...b, status: 'inactive' }]);
    expect(r.verify({ nik: b.nik, fullName: b.fullName, birthDate: b.birthDate })).toBe('INACTIVE');
  });

  it('counts calls per wall-clock second: those beyond the quota are refused and counted, and the busiest second is kept', () => {
    let now = 1_000_000_000_500;
    const r = new PopulationRegistry({ mode: 'open', quotaPerSec: 3, now: () => now });
    const admitted = [0, 1, 2, 3, 4].map(() => r.admit());
    expect(admitted).toEqual([true, true, true, false, false]);
    now += 499; // still the same second
    expect(r.admit()).toBe(false);
    now += 1; // the next second starts
    expect([r.admit(), r.admit(), r.admit(), r.admit()]).toEqual([true, true, true, false]);
    expect(r.stats()).toMatchObject({ requests: 10, overQuota: 4, maxInOneSecond: 6 });
  });

  it('injects faults: an outage fails every call, an error rate a share of them', () => {
    let i = 0;
    const randoms = [0.1, 0.9, 0.2, 0.8];
    const r = new PopulationRegistry({ mode: 'open', quotaPerSec: 100, random: () => randoms[i++ % randoms.length]! });
    expect(r.failsNow()).toBe(false);
    r.setFaults({ outage: true });
    expect([r.failsNow(), r.failsNow()]).toEqual([true, true]);
    r.setFaults({ outage: false, errorRate: 0.5 });
    expect([r.failsNow(), r.failsNow(), r.failsNow(), r.failsNow()]).toEqual([true, false, true, false]);
    expect(r.stats().faulted).toBe(4);
    r.reset();
    expect([r.faults, r.stats().faulted, r.size]).toEqual([{ errorRate: 0, outage: false }, 0, 0]);
  });

  it('compares names without case or whitespace', () => {
    expect(normaliseName(' Ni  Luh\tAyu ')).toBe(normaliseName('ni luh ayu'));
    expect(normaliseName('Budi')).not.toBe(normaliseName('Budy'));
  });
});
