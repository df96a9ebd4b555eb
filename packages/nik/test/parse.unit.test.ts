import { parseNik } from '../src';
import type { NikIssueCode, ParseNikResult } from '../src';

const TODAY = new Date('2026-11-30T00:00:00Z');
const PRAKERJA = { today: TODAY, minAge: 18, maxAge: 64 };

function issuesOf(result: ParseNikResult): NikIssueCode[] {
  return result.ok ? [] : result.issues.map((issue) => issue.code);
}

describe('parseNik', () => {
  describe('reads the published examples', () => {
    it.each([
      [
        '3204110609970001',
        {
          provinceCode: '32',
          provinceName: 'Jawa Barat',
          regencyCode: '04',
          isCity: false,
          districtCode: '11',
          sex: 'male',
          birthDate: '1997-09-06',
          serial: '0001',
        },
      ],
      [
        '3276055708900002',
        {
          provinceCode: '32',
          provinceName: 'Jawa Barat',
          regencyCode: '76',
          isCity: true,
          districtCode: '05',
          sex: 'female',
          birthDate: '1990-08-17',
          serial: '0002',
        },
      ],
      [
        '3515155202000005',
        {
          provinceCode: '35',
          provinceName: 'Jawa Timur',
          regencyCode: '15',
          isCity: false,
          districtCode: '15',
          sex: 'female',
          birthDate: '2000-02-12',
          serial: '0005',
        },
      ],
      [
        '3273000101010001',
        {
          provinceCode: '32',
          provinceName: 'Jawa Barat',
          regencyCode: '73',
          isCity: true,
          districtCode: '00',
          sex: 'male',
          birthDate: '2001-01-01',
          serial: '0001',
        },
      ],
      [
        '3273007101010001',
        {
          provinceCode: '32',
          provinceName: 'Jawa Barat',
          regencyCode: '73',
          isCity: true,
          districtCode: '00',
          sex: 'female',
          birthDate: '2001-01-31',
          serial: '0001',
        },
      ],
      [
        '3329091003780012',
        {
          provinceCode: '33',
          provinceName: 'Jawa Tengah',
          regencyCode: '29',
          isCity: false,
          districtCode: '09',
          sex: 'male',
          birthDate: '1978-03-10',
          serial: '0012',
        },
      ],
      [
        '3602041211870001',
        {
          provinceCode: '36',
          provinceName: 'Banten',
          regencyCode: '02',
          isCity: false,
          districtCode: '04',
          sex: 'male',
          birthDate: '1987-11-12',
          serial: '0001',
        },
      ],
    ])('%s', (nik, expected) => {
      expect(parseNik(nik, PRAKERJA)).toEqual({ ok: true, value: { nik, ...expected } });
    });
  });

  describe('29 February', () => {
    it('in a leap year is a real birth date, for men and for women', () => {
      expect(parseNik('3204112902000001', PRAKERJA)).toMatchObject({ ok: true, value: { sex: 'male', birthDate: '2000-02-29' } });
      expect(parseNik('3204116902000001', PRAKERJA)).toMatchObject({ ok: true, value: { sex: 'female', birthDate: '2000-02-29' } });
      expect(parseNik('3204112902960001', PRAKERJA)).toMatchObject({ ok: true, value: { birthDate: '1996-02-29' } });
    });

    it('in a non-leap year is NIK_BIRTH_DATE_INVALID', () => {
      expect(issuesOf(parseNik('3204112902010001', PRAKERJA))).toEqual(['NIK_BIRTH_DATE_INVALID']);
      expect(issuesOf(parseNik('3204116902010001', PRAKERJA))).toEqual(['NIK_BIRTH_DATE_INVALID']);
    });

    it('of year 00 is checked in the century the age window picks: real in 2000, not in 1900', () => {
      const picks1900 = { today: TODAY, minAge: 120, maxAge: 130 };
      expect(issuesOf(parseNik('3204112902000001', picks1900))).toEqual(['NIK_BIRTH_DATE_INVALID']);
      expect(parseNik('3204112802000001', picks1900)).toMatchObject({ ok: true, value: { birthDate: '1900-02-28' } });
    });

    it('of a non-leap year outside the age window is both an invalid date and out of range', () => {
      expect(issuesOf(parseNik('3204112902010001', { today: TODAY, minAge: 30, maxAge: 40 }))).toEqual(['NIK_BIRTH_DATE_INVALID', 'NIK_AGE_OUT_OF_RANGE']);
    });

    it('of year 00 when neither century fits the window is only out of range (2000-02-29 exists)', () => {
      expect(issuesOf(parseNik('3204112902000001', { today: TODAY, minAge: 30, maxAge: 40 }))).toEqual(['NIK_AGE_OUT_OF_RANGE']);
    });
  });

  describe('rejects', () => {
    it.each(['20', '97', '00', '10', '99'])('province %s as NIK_PROVINCE_UNKNOWN', (province) => {
      expect(issuesOf(parseNik(`${province}04110609970001`, PRAKERJA))).toEqual(['NIK_PROVINCE_UNKNOWN']);
    });

    it.each(['00', '70'])('regency %s as NIK_REGENCY_INVALID', (regency) => {
      expect(issuesOf(parseNik(`32${regency}110609970001`, PRAKERJA))).toEqual(['NIK_REGENCY_INVALID']);
    });

    it('serial 0000 as NIK_SERIAL_ZERO', () => {
      expect(issuesOf(parseNik('3204110609970000', PRAKERJA))).toEqual(['NIK_SERIAL_ZERO']);
    });

    it.each([
      ['day 00', '000997'],
      ['day 32', '320997'],
      ['day 40', '400997'],
      ["day 72 (a woman's 32)", '720997'],
      ['day 99', '990997'],
      ['month 00', '060097'],
      ['month 13', '061397'],
      ['31 April', '310497'],
      ['30 February', '300297'],
      ["a woman's 30 February", '700297'],
    ])('%s as NIK_BIRTH_DATE_INVALID', (_label, ddmmyy) => {
      expect(issuesOf(parseNik(`320411${ddmmyy}0001`, PRAKERJA))).toEqual(['NIK_BIRTH_DATE_INVALID']);
    });

    it.each([
      ['15 digits', '320411060997001'],
      ['17 digits', '32041106099700011'],
      ['empty', ''],
      ['a letter', '320411060997000A'],
      ['spaces', '3204 1106 0997 0001'],
      ['a leading space', ' 3204110609970001'],
      ['a trailing newline', '3204110609970001\n'],
      ['full-width digits', '３２０４１１０６０９９７０００１'],
      ['Arabic-Indic digits', '٣٢٠٤١١٠٦٠٩٩٧٠٠٠١'],
      ['a sign', '-3204110609970001'],
    ])('%s as NIK_FORMAT alone', (_label, nik) => {
      expect(parseNik(nik, PRAKERJA)).toEqual({ ok: false, issues: [{ code: 'NIK_FORMAT' }] });
    });

    it('a non-string from untyped callers as NIK_FORMAT', () => {
      expect(issuesOf(parseNik(3204110609970001 as unknown as string, PRAKERJA))).toEqual(['NIK_FORMAT']);
    });
  });

  it('lists every problem at once, in digit order', () => {
    expect(parseNik('2070003202000000', PRAKERJA)).toEqual({
      ok: false,
      issues: [{ code: 'NIK_PROVINCE_UNKNOWN' }, { code: 'NIK_REGENCY_INVALID' }, { code: 'NIK_BIRTH_DATE_INVALID' }, { code: 'NIK_SERIAL_ZERO' }],
    });
    expect(issuesOf(parseNik('9700000101100000', PRAKERJA))).toEqual([
      'NIK_PROVINCE_UNKNOWN',
      'NIK_REGENCY_INVALID',
      'NIK_AGE_OUT_OF_RANGE',
      'NIK_SERIAL_ZERO',
    ]);
  });

  describe('age window (today 2026-11-30, ages 18–64)', () => {
    it.each([
      ['accepts someone 18 today', '301108', true, '2008-11-30'],
      ['rejects someone who turns 18 tomorrow', '011208', false, undefined],
      ['accepts a woman 18 today', '701108', true, '2008-11-30'],
      ['accepts someone whose 65th birthday is tomorrow', '011261', true, '1961-12-01'],
      ['rejects someone 65 today', '301161', false, undefined],
      ['rejects a 17-year-old born in 2009', '010109', false, undefined],
      ['rejects a birth date in the future', '010126', false, undefined],
    ])('%s', (_label, ddmmyy, ok, birthDate) => {
      const result = parseNik(`320411${ddmmyy}0001`, PRAKERJA);
      if (ok) expect(result).toMatchObject({ ok: true, value: { birthDate } });
      else expect(issuesOf(result)).toEqual(['NIK_AGE_OUT_OF_RANGE']);
    });

    it('a 29 February child turns 18 on 1 March in a non-leap year', () => {
      const nik = '3204112902080001';
      expect(issuesOf(parseNik(nik, { ...PRAKERJA, today: new Date('2026-02-28T00:00:00Z') }))).toEqual(['NIK_AGE_OUT_OF_RANGE']);
      expect(parseNik(nik, { ...PRAKERJA, today: new Date('2026-03-01T00:00:00Z') })).toMatchObject({ ok: true, value: { birthDate: '2008-02-29' } });
    });

    it('reads the calendar day of `today` in UTC', () => {
      const nik = '3204113011080001';
      expect(parseNik(nik, { ...PRAKERJA, today: new Date('2026-11-29T23:59:59Z') }).ok).toBe(false);
      expect(parseNik(nik, { ...PRAKERJA, today: new Date('2026-11-30T00:00:00Z') }).ok).toBe(true);
    });
  });

  describe('century of the two-digit year', () => {
    it('is 19xx when only that fits the window', () => {
      expect(parseNik('3204110101700001', PRAKERJA)).toMatchObject({ ok: true, value: { birthDate: '1970-01-01' } });
    });

    it('is 20xx when only that fits the window', () => {
      expect(parseNik('3204110101050001', { ...PRAKERJA, minAge: 0 })).toMatchObject({ ok: true, value: { birthDate: '2005-01-01' } });
    });

    it('is the later century when a window of 100+ years fits both', () => {
      expect(parseNik('3204110101100001', { today: TODAY, minAge: 0, maxAge: 130 })).toMatchObject({ ok: true, value: { birthDate: '2010-01-01' } });
    });

    it('follows `today`: 01.01.10 is 1910 for 100–120-year-olds', () => {
      expect(parseNik('3204110101100001', { today: TODAY, minAge: 100, maxAge: 120 })).toMatchObject({ ok: true, value: { birthDate: '1910-01-01' } });
    });
  });

  it.each([
    ['a negative minAge', { minAge: -1, maxAge: 64 }],
    ['minAge above maxAge', { minAge: 65, maxAge: 64 }],
    ['fractional ages', { minAge: 17.5, maxAge: 64 }],
  ])('throws RangeError for %s', (_label, ages) => {
    expect(() => parseNik('3204110609970001', { today: TODAY, ...ages })).toThrow(RangeError);
  });

  it('throws RangeError for an invalid `today`', () => {
    expect(() => parseNik('3204110609970001', { ...PRAKERJA, today: new Date('nope') })).toThrow(RangeError);
  });
});
