export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

const MS_PER_DAY = 86_400_000;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** 0 for a month outside 1–12, so callers can compare a day against it without a separate guard. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2 && isLeapYear(year)) return 29;
  return DAYS_IN_MONTH[month - 1] ?? 0;
}

export function isRealDate({ year, month, day }: CalendarDate): boolean {
  return Number.isInteger(day) && day >= 1 && day <= daysInMonth(year, month);
}

/** A strict 'YYYY-MM-DD' reader: ASCII digits only, and the date must exist. */
export function parseIsoDate(text: string): CalendarDate | undefined {
  const match = typeof text === 'string' ? /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(text) : null;
  if (!match) return undefined;
  const date = { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
  return isRealDate(date) ? date : undefined;
}

export function formatIsoDate({ year, month, day }: CalendarDate): string {
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
}

export function pad2(value: number): string {
  return String(value).padStart(2, '0');
}

/**
 * The calendar day of `today` read in UTC. Parsing and age rules work on calendar days, not instants;
 * callers that mean "today in Indonesia" pass `calendarDateIn(now)`.
 */
export function utcCalendarDate(today: Date): CalendarDate {
  assertValidDate(today);
  return { year: today.getUTCFullYear(), month: today.getUTCMonth() + 1, day: today.getUTCDate() };
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();
/** Building an Intl.DateTimeFormat costs tens of microseconds: one per time zone, reused (it is immutable). */
function dayFormat(timeZone: string): Intl.DateTimeFormat {
  let f = dayFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' });
    dayFormats.set(timeZone, f);
  }
  return f;
}

/** The last answer per time zone, for the second it was computed in. */
const lastDay = new Map<string, { second: number; day: number }>();

/**
 * The calendar date at `instant` in `timeZone`, as a Date at 00:00 UTC of that day. A server on UTC
 * would otherwise move an applicant's birthday by up to nine hours (WIB +7, WITA +8, WIT +9).
 * Formatting costs microseconds and every registration asks several times, so the answer is kept for
 * the rest of its second (every zone offset, old local mean times included, is whole seconds).
 */
export function calendarDateIn(instant: Date, timeZone = 'Asia/Jakarta'): Date {
  assertValidDate(instant);
  const second = Math.floor(instant.getTime() / 1000);
  const cached = lastDay.get(timeZone);
  if (cached?.second === second) return new Date(cached.day);
  const parts = dayFormat(timeZone).formatToParts(instant);
  const part = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  const day = Date.UTC(part('year'), part('month') - 1, part('day'));
  lastDay.set(timeZone, { second, day });
  return new Date(day);
}

/**
 * Whole years from `birth` to `today`. Comparing (month, day) pairs places a 29 February birthday after
 * 28 February, so in a non-leap year that person turns a year older on 1 March (and on 29 February in a
 * leap year). Negative when `birth` is after `today`.
 */
export function ageInYears(birth: CalendarDate, today: CalendarDate): number {
  const hadBirthday = today.month > birth.month || (today.month === birth.month && today.day >= birth.day);
  return today.year - birth.year - (hadBirthday ? 0 : 1);
}

/** Age in whole years on `today`'s UTC calendar day; see `ageInYears` for the 29 February rule. */
export function ageOn(birthDate: string, today: Date): number {
  const birth = parseIsoDate(birthDate);
  if (!birth) throw new RangeError('birthDate must be a real date written YYYY-MM-DD');
  return ageInYears(birth, utcCalendarDate(today));
}

function assertValidDate(date: Date): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new RangeError('expected a valid Date');
}

export function toDayNumber({ year, month, day }: CalendarDate): number {
  return Date.UTC(year, month - 1, day) / MS_PER_DAY;
}

export function fromDayNumber(dayNumber: number): CalendarDate {
  return utcCalendarDate(new Date(dayNumber * MS_PER_DAY));
}
