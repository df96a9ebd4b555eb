import { ageOn, calendarDateIn, isLeapYear } from '../src';

const day = (iso: string): Date => new Date(`${iso}T00:00:00Z`);

describe('ageOn', () => {
  it.each([
    ['1997-09-06', '2026-09-05', 28],
    ['1997-09-06', '2026-09-06', 29],
    ['1997-09-06', '2026-09-07', 29],
    ['1997-12-31', '2026-01-01', 28],
    ['2008-11-30', '2026-11-30', 18],
    ['2008-12-01', '2026-11-30', 17],
    ['2026-11-30', '2026-11-30', 0],
  ])('born %s, on %s is %i', (birthDate, today, age) => {
    expect(ageOn(birthDate, day(today))).toBe(age);
  });

  describe('a 29 February birthday', () => {
    it('in a non-leap year turns a year older on 1 March, not 28 February', () => {
      expect(ageOn('2004-02-29', day('2022-02-28'))).toBe(17);
      expect(ageOn('2004-02-29', day('2022-03-01'))).toBe(18);
    });

    it('in a leap year turns a year older on 29 February', () => {
      expect(ageOn('2004-02-29', day('2024-02-28'))).toBe(19);
      expect(ageOn('2004-02-29', day('2024-02-29'))).toBe(20);
    });
  });

  it('is negative for a birth date after today', () => {
    expect(ageOn('2026-12-01', day('2026-11-30'))).toBe(-1);
    expect(ageOn('2027-05-01', day('2026-11-30'))).toBe(-1);
  });

  it('uses the UTC calendar day of `today`', () => {
    expect(ageOn('2008-11-30', new Date('2026-11-29T23:59:59.999Z'))).toBe(17);
    expect(ageOn('2008-11-30', new Date('2026-11-30T00:00:00+07:00'))).toBe(17);
  });

  it.each(['2001-02-29', '2001-13-01', '2001-1-01', '01-01-2001', '', '２００１-０１-０１'])('throws RangeError for birth date %p', (birthDate) => {
    expect(() => ageOn(birthDate, day('2026-11-30'))).toThrow(RangeError);
  });

  it('throws RangeError for an invalid today', () => {
    expect(() => ageOn('2001-01-01', new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('calendarDateIn', () => {
  it('gives the Jakarta calendar day as midnight UTC', () => {
    expect(calendarDateIn(new Date('2026-11-29T17:00:00Z')).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(calendarDateIn(new Date('2026-11-29T16:59:59Z')).toISOString()).toBe('2026-11-29T00:00:00.000Z');
  });

  it('takes another Indonesian time zone', () => {
    expect(calendarDateIn(new Date('2026-11-29T15:00:00Z'), 'Asia/Jayapura').toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(calendarDateIn(new Date('2026-11-29T15:00:00Z'), 'Asia/Makassar').toISOString()).toBe('2026-11-29T00:00:00.000Z');
  });

  it('answers each instant on its own day when asked repeatedly around midnight and across zones (the answer is kept per second)', () => {
    const before = new Date('2026-11-29T16:59:59.999Z');
    const after = new Date('2026-11-29T17:00:00.000Z');
    for (let i = 0; i < 3; i++) {
      expect(calendarDateIn(before).toISOString()).toBe('2026-11-29T00:00:00.000Z');
      expect(calendarDateIn(after).toISOString()).toBe('2026-11-30T00:00:00.000Z');
      expect(calendarDateIn(after, 'Asia/Makassar').toISOString()).toBe('2026-11-30T00:00:00.000Z');
      expect(calendarDateIn(new Date('2026-11-29T15:59:59Z'), 'Asia/Makassar').toISOString()).toBe('2026-11-29T00:00:00.000Z');
    }
    // Batavia's local mean time was +07:07:12: that day began at 16:52:48 UTC.
    expect(calendarDateIn(new Date('1910-01-01T16:52:47Z')).toISOString()).toBe('1910-01-01T00:00:00.000Z');
    expect(calendarDateIn(new Date('1910-01-01T16:52:48Z')).toISOString()).toBe('1910-01-02T00:00:00.000Z');
    // A returned Date is the caller's own: changing it does not change the next answer.
    calendarDateIn(after).setUTCFullYear(1999);
    expect(calendarDateIn(after).toISOString()).toBe('2026-11-30T00:00:00.000Z');
  });

  it('throws RangeError for an invalid instant', () => {
    expect(() => calendarDateIn(new Date(Number.NaN))).toThrow(RangeError);
  });

  it('lets an applicant who turns 18 at midnight in Jakarta register then', () => {
    expect(ageOn('2008-11-30', calendarDateIn(new Date('2026-11-29T17:00:00Z')))).toBe(18);
  });
});

describe('isLeapYear', () => {
  it.each([
    [2000, true],
    [1900, false],
    [2024, true],
    [2026, false],
    [2100, false],
  ])('%i → %p', (year, leap) => {
    expect(isLeapYear(year)).toBe(leap);
  });
});
