import { ageInYears, daysInMonth, formatIsoDate, isRealDate, parseIsoDate, utcCalendarDate } from './dates';
import type { CalendarDate } from './dates';
import { isNikFormat, readDateDigits } from './format';
import type { NikDateDigits, NikSex } from './format';
import type { NikIssue, NikIssueCode } from './issues';
import { isValidProvinceCode, PROVINCES } from './provinces';
import type { ProvinceCode } from './provinces';

export interface ParseNikOptions {
  /** Its UTC calendar day is used; pass `calendarDateIn(now)` for the day in Indonesia. */
  today: Date;
  minAge: number;
  maxAge: number;
}

export interface ParsedNik {
  nik: string;
  provinceCode: ProvinceCode;
  provinceName: string;
  regencyCode: string;
  /** Kota (71–99) rather than kabupaten (01–69). */
  isCity: boolean;
  districtCode: string;
  sex: NikSex;
  /** YYYY-MM-DD, the century chosen by the age window. */
  birthDate: string;
  serial: string;
}

export type ParseNikResult = { ok: true; value: ParsedNik } | { ok: false; issues: NikIssue[] };

/**
 * Reads a NIK and lists every problem found, in digit order. A NIK that is not 16 ASCII digits gets
 * NIK_FORMAT alone, since its digits cannot be located. Kecamatan codes are not checked: datasets differ
 * and published NIKs carry 00.
 */
export function parseNik(nik: string, opts: ParseNikOptions): ParseNikResult {
  assertAgeWindow(opts);
  const today = utcCalendarDate(opts.today);
  if (!isNikFormat(nik)) return { ok: false, issues: [{ code: 'NIK_FORMAT' }] };

  const codes: NikIssueCode[] = [];
  const provinceCode = nik.slice(0, 2);
  const regencyCode = nik.slice(2, 4);
  const serial = nik.slice(12, 16);
  const province = isValidProvinceCode(provinceCode) ? provinceCode : undefined;
  if (!province) codes.push('NIK_PROVINCE_UNKNOWN');
  if (regencyCode === '00' || regencyCode === '70') codes.push('NIK_REGENCY_INVALID');
  const digits = readDateDigits(nik);
  const birth = resolveBirthDate(digits, today, opts);
  codes.push(...birth.codes);
  if (serial === '0000') codes.push('NIK_SERIAL_ZERO');

  if (codes.length > 0 || !province || !birth.date) {
    return { ok: false, issues: codes.map((code) => ({ code })) };
  }
  return {
    ok: true,
    value: {
      nik,
      provinceCode: province,
      provinceName: PROVINCES[province],
      regencyCode,
      isCity: Number(regencyCode) >= 71,
      districtCode: nik.slice(4, 6),
      sex: digits.sex,
      birthDate: formatIsoDate(birth.date),
      serial,
    },
  };
}

/**
 * The NIK carries a two-digit year, so the century comes from the age window:
 * 1. Day and month must fit some year (February allows 29 here); otherwise NIK_BIRTH_DATE_INVALID and no
 *    age check, because there is no date to take an age from.
 * 2. Of 20yy and 19yy, keep those whose age on `today` lies in [minAge, maxAge].
 * 3. None fits: NIK_AGE_OUT_OF_RANGE, plus NIK_BIRTH_DATE_INVALID if the date exists in neither century
 *    (29 February of a year not divisible by 4).
 * 4. Both fit (only when maxAge - minAge >= 100): take 20yy, the younger reading.
 * 5. The date must exist in the chosen year: 29.02.00 is real in 2000 but not in 1900, so with a window
 *    that picks 1900 it is NIK_BIRTH_DATE_INVALID.
 */
function resolveBirthDate(
  { day, month, yy }: NikDateDigits,
  today: CalendarDate,
  { minAge, maxAge }: ParseNikOptions,
): { date?: CalendarDate; codes: NikIssueCode[] } {
  const LEAP_YEAR = 2000;
  if (day < 1 || day > daysInMonth(LEAP_YEAR, month)) return { codes: ['NIK_BIRTH_DATE_INVALID'] };

  const readings = [2000 + yy, 1900 + yy].map((year) => ({ year, month, day }));
  const inWindow = readings.filter((date) => {
    const age = ageInYears(date, today);
    return age >= minAge && age <= maxAge;
  });
  const chosen = inWindow[0];
  if (!chosen) {
    const existsSomewhere = readings.some(isRealDate);
    return { codes: existsSomewhere ? ['NIK_AGE_OUT_OF_RANGE'] : ['NIK_BIRTH_DATE_INVALID', 'NIK_AGE_OUT_OF_RANGE'] };
  }
  return isRealDate(chosen) ? { date: chosen, codes: [] } : { codes: ['NIK_BIRTH_DATE_INVALID'] };
}

function assertAgeWindow({ minAge, maxAge }: ParseNikOptions): void {
  if (!Number.isInteger(minAge) || !Number.isInteger(maxAge) || minAge < 0 || minAge > maxAge) {
    throw new RangeError('minAge and maxAge must be whole numbers with 0 <= minAge <= maxAge');
  }
}

/**
 * Compares the NIK's DDMMYY (women's day less 40) with a stated birth date. Only the two-digit year is
 * in the NIK, so 1990 and 2090 both match 90. Checks nothing else about the NIK but its format.
 */
export function checkNikMatchesBirthDate(nik: string, birthDate: string): NikIssue[] {
  const stated = parseIsoDate(birthDate);
  if (!stated) throw new RangeError('birthDate must be a real date written YYYY-MM-DD');
  if (!isNikFormat(nik)) return [{ code: 'NIK_FORMAT' }];
  const { day, month, yy } = readDateDigits(nik);
  const matches = day === stated.day && month === stated.month && yy === stated.year % 100;
  return matches ? [] : [{ code: 'NIK_BIRTH_DATE_MISMATCH' }];
}
