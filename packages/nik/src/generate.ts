import { daysInMonth, formatIsoDate, fromDayNumber, pad2, parseIsoDate, toDayNumber, utcCalendarDate } from './dates';
import type { CalendarDate } from './dates';
import { FEMALE_DAY_OFFSET, isNikFormat } from './format';
import type { NikSex } from './format';
import { isValidProvinceCode, PROVINCES } from './provinces';

/** Kartu Prakerja accepts applicants aged 18 to 64. */
export const PRAKERJA_AGE_RANGE = Object.freeze({ minAge: 18, maxAge: 64 });

export interface AgeRange {
  minAge: number;
  maxAge: number;
}

export interface GenerateNikInput {
  /** Default '32' (Jawa Barat). */
  provinceCode?: string;
  /** Two digits, not 00 or 70. Default '01'. */
  regencyCode?: string;
  /** Two digits. Default '01'. */
  districtCode?: string;
  sex: NikSex;
  /** YYYY-MM-DD between 1900 and 2099, the centuries a two-digit year can stand for. */
  birthDate: string;
  /** 1–9999. */
  serial: number;
}

/** Encodes a NIK; throws RangeError on any input parseNik would reject (age aside). */
export function generateNik(input: GenerateNikInput): string {
  const { provinceCode = '32', regencyCode = '01', districtCode = '01', sex, birthDate, serial } = input;
  if (!isValidProvinceCode(provinceCode)) throw new RangeError(`unknown province code ${provinceCode}`);
  if (!/^[0-9]{2}$/.test(regencyCode) || regencyCode === '00' || regencyCode === '70') {
    throw new RangeError('regencyCode must be two digits, not 00 or 70');
  }
  if (!/^[0-9]{2}$/.test(districtCode)) throw new RangeError('districtCode must be two digits');
  if (sex !== 'male' && sex !== 'female') throw new RangeError('sex must be male or female');
  const birth = parseIsoDate(birthDate);
  if (!birth || birth.year < 1900 || birth.year > 2099) throw new RangeError('birthDate must be a real date in 1900–2099');
  if (!Number.isInteger(serial) || serial < 1 || serial > 9999) throw new RangeError('serial must be 1–9999');
  const day = birth.day + (sex === 'female' ? FEMALE_DAY_OFFSET : 0);
  return `${provinceCode}${regencyCode}${districtCode}${pad2(day)}${pad2(birth.month)}${pad2(birth.year % 100)}${String(serial).padStart(4, '0')}`;
}

export interface GeneratedPerson {
  nik: string;
  birthDate: string;
  sex: NikSex;
}

const MAX_SEED = 0xffff_ffff;
const SERIALS = 9999;
const DISTRICTS = 99;
// What remains of a 32-bit key after serial, kecamatan and sex: that many slots of birth dates.
const DATE_SLOTS = Math.floor(MAX_SEED / (SERIALS * DISTRICTS * 2)) + 1;
const PROVINCE_CODES = Object.keys(PROVINCES).filter(isValidProvinceCode);

/**
 * A valid applicant for load tests: same seed and `today`, same person. Distinct seeds in 0..2^32-1 give
 * distinct NIKs: the seed goes through a bijection, and its mixed-radix digits pick serial, kecamatan, sex
 * and a birth-date slot, all of which the NIK encodes. Province, regency and the day within a slot
 * come from a PRNG seeded with the mixed seed, for spread. Regions are plausible codes, not real ones.
 */
export function generateValidPerson(seed: number, today: Date, ages: AgeRange = PRAKERJA_AGE_RANGE): GeneratedPerson {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) throw new RangeError('seed must be an integer in 0..2^32-1');
  const { earliest, latest } = birthDayNumbers(utcCalendarDate(today), ages);
  const span = latest - earliest + 1;
  if (span < DATE_SLOTS) throw new RangeError('age range too narrow for unique people: need about six years');

  const mixed = permute32(seed);
  let key = mixed;
  const serial = (key % SERIALS) + 1;
  key = Math.floor(key / SERIALS);
  const districtCode = pad2((key % DISTRICTS) + 1);
  key = Math.floor(key / DISTRICTS);
  const sex: NikSex = key % 2 === 0 ? 'male' : 'female';
  key = Math.floor(key / 2);

  const random = mulberry32(mixed);
  // Slot `key` owns the days [start, end): disjoint, non-empty, and together the whole age range.
  const start = Math.floor((key * span) / DATE_SLOTS);
  const end = Math.floor(((key + 1) * span) / DATE_SLOTS);
  const birthDate = formatIsoDate(fromDayNumber(earliest + start + Math.floor(random() * (end - start))));
  const provinceCode = PROVINCE_CODES[Math.floor(random() * PROVINCE_CODES.length)];
  const regency = random() < 0.25 ? 71 + Math.floor(random() * 9) : 1 + Math.floor(random() * 30);
  const nik = generateNik({ provinceCode, regencyCode: pad2(regency), districtCode, sex, birthDate, serial });
  return { nik, birthDate, sex };
}

/** First and last day numbers of a birth date whose age on `today` lies in `ages`. */
function birthDayNumbers(today: CalendarDate, { minAge, maxAge }: AgeRange): { earliest: number; latest: number } {
  // A century apart, the same two-digit year would fit twice and parseNik would read the later one.
  if (!Number.isInteger(minAge) || !Number.isInteger(maxAge) || minAge < 0 || maxAge < minAge || maxAge - minAge >= 100) {
    throw new RangeError('ages must be whole numbers with 0 <= minAge <= maxAge < minAge + 100');
  }
  const sameDayIn = (year: number): CalendarDate => ({ year, month: today.month, day: Math.min(today.day, daysInMonth(year, today.month)) });
  const latest = toDayNumber(sameDayIn(today.year - minAge));
  // The day after the (maxAge + 1)th birthday; a 29 February clamped to the 28th becomes 1 March.
  const earliest = toDayNumber(sameDayIn(today.year - maxAge - 1)) + 1;
  if (fromDayNumber(earliest).year < 1900 || fromDayNumber(latest).year > 2099) throw new RangeError('birth dates must fall in 1900–2099');
  return { earliest, latest };
}

/** Invertible on 32-bit integers (xor-shifts and odd multipliers; "lowbias32"), so no two seeds collide. */
function permute32(seed: number): number {
  // The xor keeps seed 0 off the fixed point 0 (oldest person, serial 0001); still a bijection.
  let x = (seed ^ 0x9e3779b9) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Small seeded PRNG (mulberry32), numbers in [0, 1): tests and load runs must not depend on Math.random. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Every one-digit substitution of a NIK (16 positions x 9 digits = 144), position by position, each digit
 * replaced by the next ones modulo 10. Some still parse (another valid NIK), most do not — like real typos.
 */
export function typoVariants(nik: string): string[] {
  if (!isNikFormat(nik)) throw new RangeError('typoVariants needs 16 ASCII digits');
  const variants: string[] = [];
  for (let position = 0; position < nik.length; position++) {
    for (let shift = 1; shift <= 9; shift++) {
      const digit = (Number(nik[position]) + shift) % 10;
      variants.push(`${nik.slice(0, position)}${digit}${nik.slice(position + 1)}`);
    }
  }
  return variants;
}

/** One deterministic typo of `nik`, picked by `seed` (any integer) from `typoVariants`. */
export function typoVariant(nik: string, seed: number): string {
  const variants = typoVariants(nik);
  const index = ((Math.trunc(seed) % variants.length) + variants.length) % variants.length;
  return variants[index] as string;
}

/**
 * A typo that intake validation cannot catch: one digit of the 4-digit serial (positions 13–16)
 * replaced, so province, regency, district and birth date still read correctly. Only the registry can
 * tell it is the wrong person. Picked by `seed` (any integer); never the all-zero serial.
 */
export function serialTypo(nik: string, seed: number): string {
  if (!isNikFormat(nik)) throw new RangeError('serialTypo needs 16 ASCII digits');
  const s = Math.abs(Math.trunc(seed));
  for (let k = 0; k < 36; k++) {
    const i = (s + k) % 36;
    const position = 12 + (i % 4);
    const digit = (Number(nik[position]) + 1 + Math.floor(i / 4)) % 10;
    const typo = `${nik.slice(0, position)}${digit}${nik.slice(position + 1)}`;
    if (typo.slice(12) !== '0000') return typo;
  }
  throw new RangeError('no serial typo possible');
}
