import {
  ageOn,
  checkNikMatchesBirthDate,
  generateNik,
  generateValidPerson,
  parseNik,
  PRAKERJA_AGE_RANGE,
  PROVINCES,
  serialTypo,
  typoVariant,
  typoVariants,
} from '../src';
import type { GenerateNikInput } from '../src';

const TODAY = new Date('2026-11-30T00:00:00Z');
const PRAKERJA = { today: TODAY, ...PRAKERJA_AGE_RANGE };

describe('generateNik', () => {
  it('encodes the published examples', () => {
    expect(generateNik({ provinceCode: '32', regencyCode: '04', districtCode: '11', sex: 'male', birthDate: '1997-09-06', serial: 1 })).toBe(
      '3204110609970001',
    );
    expect(generateNik({ provinceCode: '32', regencyCode: '76', districtCode: '05', sex: 'female', birthDate: '1990-08-17', serial: 2 })).toBe(
      '3276055708900002',
    );
    expect(generateNik({ provinceCode: '33', regencyCode: '29', districtCode: '09', sex: 'male', birthDate: '1978-03-10', serial: 12 })).toBe(
      '3329091003780012',
    );
  });

  it('defaults to Jawa Barat, regency 01, kecamatan 01', () => {
    expect(generateNik({ sex: 'female', birthDate: '2000-02-29', serial: 9999 })).toBe('3201016902009999');
  });

  const valid: GenerateNikInput = { sex: 'male', birthDate: '1997-09-06', serial: 1 };
  it.each<[string, Partial<GenerateNikInput>]>([
    ['an unknown province', { provinceCode: '20' }],
    ['regency 00', { regencyCode: '00' }],
    ['regency 70', { regencyCode: '70' }],
    ['a one-digit regency', { regencyCode: '4' }],
    ['a three-digit kecamatan', { districtCode: '011' }],
    ['an unknown sex', { sex: 'other' as 'male' }],
    ['29 February of a non-leap year', { birthDate: '2001-02-29' }],
    ['a year before 1900', { birthDate: '1899-12-31' }],
    ['a year after 2099', { birthDate: '2100-01-01' }],
    ['serial 0', { serial: 0 }],
    ['serial 10000', { serial: 10000 }],
    ['a fractional serial', { serial: 1.5 }],
  ])('throws RangeError for %s', (_label, change) => {
    expect(() => generateNik({ ...valid, ...change })).toThrow(RangeError);
  });
});

describe('generateValidPerson', () => {
  it('is deterministic: same seed and day, same person', () => {
    expect(generateValidPerson(42, TODAY)).toEqual(generateValidPerson(42, TODAY));
    expect(generateValidPerson(0, TODAY)).toEqual({ nik: '5271695204624330', birthDate: '1962-04-12', sex: 'female' });
  });

  it('gives 200,000 consecutive seeds 200,000 distinct NIKs that parse to the same birth date and sex', () => {
    const niks = new Set<string>();
    const provinces = new Set<string>();
    const ages = new Set<number>();
    let women = 0;
    let cities = 0;
    for (let seed = 0; seed < 200_000; seed++) {
      const person = generateValidPerson(seed, TODAY);
      const parsed = parseNik(person.nik, PRAKERJA);
      if (!parsed.ok) throw new Error(`seed ${seed}: ${person.nik} ${JSON.stringify(parsed.issues)}`);
      if (parsed.value.birthDate !== person.birthDate || parsed.value.sex !== person.sex) throw new Error(`seed ${seed} misread`);
      niks.add(person.nik);
      provinces.add(parsed.value.provinceCode);
      ages.add(ageOn(person.birthDate, TODAY));
      if (person.sex === 'female') women++;
      if (parsed.value.isCity) cities++;
    }
    expect(niks.size).toBe(200_000);
    expect(provinces.size).toBe(Object.keys(PROVINCES).length);
    expect(Math.min(...ages)).toBe(18);
    expect(Math.max(...ages)).toBe(64);
    expect(women / 200_000).toBeCloseTo(0.5, 1);
    expect(cities / 200_000).toBeCloseTo(0.25, 1);
  });

  it('accepts the largest seed and differs from seed 0', () => {
    expect(generateValidPerson(0xffff_ffff, TODAY).nik).not.toBe(generateValidPerson(0, TODAY).nik);
  });

  it('keeps people inside another age range', () => {
    const ages = { minAge: 30, maxAge: 40 };
    for (let seed = 0; seed < 1000; seed++) {
      expect(parseNik(generateValidPerson(seed, TODAY, ages).nik, { today: TODAY, ...ages }).ok).toBe(true);
    }
  });

  it.each([-1, 0x1_0000_0000, 1.5, Number.NaN])('throws RangeError for seed %p', (seed) => {
    expect(() => generateValidPerson(seed, TODAY)).toThrow(RangeError);
  });

  it.each([
    ['an age range too narrow for unique people', { minAge: 18, maxAge: 20 }, /too narrow/],
    ['an age range of 100 years, whose years a NIK cannot tell apart', { minAge: 0, maxAge: 100 }, /minAge \+ 100/],
    ['birth dates before 1900', { minAge: 50, maxAge: 130 }, /1900–2099/],
  ])('throws RangeError for %s', (_label, ages, message) => {
    expect(() => generateValidPerson(1, TODAY, ages)).toThrow(message);
    expect(() => generateValidPerson(1, TODAY, ages)).toThrow(RangeError);
  });

  it('throws RangeError when birth dates would pass 2099', () => {
    expect(() => generateValidPerson(1, new Date('2118-01-01T00:00:00Z'))).toThrow(/1900–2099/);
  });
});

describe('typoVariants', () => {
  const nik = '3204110609970001';
  const variants = typoVariants(nik);

  it('lists all 144 one-digit substitutions, each differing in exactly one place', () => {
    expect(new Set(variants).size).toBe(144);
    for (const variant of variants) {
      expect(variant).toMatch(/^[0-9]{16}$/);
      expect([...variant].filter((digit, i) => digit !== nik[i])).toHaveLength(1);
    }
  });

  it('is deterministic, nearest digit first', () => {
    expect(variants.slice(0, 3)).toEqual(['4204110609970001', '5204110609970001', '6204110609970001']);
    expect(typoVariants(nik)).toEqual(variants);
  });

  it('mixes typos that parseNik catches with typos that still read as a valid NIK', () => {
    const caught = variants.filter((variant) => !parseNik(variant, PRAKERJA).ok).length;
    expect(caught).toBeGreaterThan(0);
    expect(caught).toBeLessThan(144);
  });

  it('picks one typo per seed with typoVariant, any integer seed', () => {
    expect(typoVariant(nik, 0)).toBe(variants[0]);
    expect(typoVariant(nik, 145)).toBe(variants[1]);
    expect(typoVariant(nik, -1)).toBe(variants[143]);
  });

  it('throws RangeError for text that is not 16 digits', () => {
    expect(() => typoVariants('32041106099700')).toThrow(RangeError);
  });
});

describe('serialTypo', () => {
  it('changes exactly one serial digit, so the NIK still parses with the same birth date, for many people and seeds', () => {
    for (let seed = 0; seed < 300; seed++) {
      const p = generateValidPerson(seed, new Date('2026-11-30T00:00:00Z'));
      const typo = serialTypo(p.nik, seed * 7);
      expect(typo).not.toBe(p.nik);
      expect([...typo].filter((d, i) => d !== p.nik[i]).length).toBe(1);
      expect(typo.slice(0, 12)).toBe(p.nik.slice(0, 12));
      expect(checkNikMatchesBirthDate(typo, p.birthDate)).toEqual([]);
      expect(parseNik(typo, { today: new Date('2026-11-30T00:00:00Z'), minAge: 18, maxAge: 64 }).ok).toBe(true);
    }
  });
});
