const NIK_PATTERN = /^[0-9]{16}$/;

/** Exactly 16 ASCII digits; full-width or other Unicode digits are not a NIK. */
export function isNikFormat(nik: unknown): nik is string {
  return typeof nik === 'string' && NIK_PATTERN.test(nik);
}

/** For display only ('3204**********01'): enough for applicants to recognise their own NIK. Never log it. */
export function maskNik(nik: string): string {
  if (!isNikFormat(nik)) return '*'.repeat(16);
  return `${nik.slice(0, 4)}${'*'.repeat(10)}${nik.slice(14)}`;
}

export type NikSex = 'male' | 'female';

/** Digits 7–12 as written: DDMMYY with 40 added to the day for women. Not validated here. */
export interface NikDateDigits {
  sex: NikSex;
  day: number;
  month: number;
  yy: number;
}

export const FEMALE_DAY_OFFSET = 40;

export function readDateDigits(nik: string): NikDateDigits {
  const rawDay = Number(nik.slice(6, 8));
  const female = rawDay > FEMALE_DAY_OFFSET;
  return {
    sex: female ? 'female' : 'male',
    day: female ? rawDay - FEMALE_DAY_OFFSET : rawDay,
    month: Number(nik.slice(8, 10)),
    yy: Number(nik.slice(10, 12)),
  };
}
