import fc from 'fast-check';
import { generateNik, generateValidPerson, parseNik, PRAKERJA_AGE_RANGE, PROVINCES, typoVariant, typoVariants } from '../src';
import type { ParsedNik } from '../src';

const TODAY = new Date('2026-11-30T00:00:00Z');
const MS_PER_DAY = 86_400_000;

const seed = fc.integer({ min: 0, max: 0xffff_ffff });
// Birth dates a NIK can carry, from 1900 up to the day before `today` reaches 2100 - 18.
const today = fc.date({ min: new Date('1966-01-01T00:00:00Z'), max: new Date('2117-12-31T00:00:00Z'), noInvalidDate: true });

function withoutNik({ nik: _nik, ...fields }: ParsedNik): Omit<ParsedNik, 'nik'> {
  return fields;
}

describe('NIK properties', () => {
  it('every generated person parses, with the same birth date and sex, on any day', () => {
    fc.assert(
      fc.property(seed, today, (s, day) => {
        const person = generateValidPerson(s, day);
        const parsed = parseNik(person.nik, { today: day, ...PRAKERJA_AGE_RANGE });
        expect(parsed).toMatchObject({ ok: true, value: { birthDate: person.birthDate, sex: person.sex } });
      }),
      { numRuns: 2000 },
    );
  });

  it('parseNik reads back every field generateNik wrote', () => {
    const input = fc.record({
      provinceCode: fc.constantFrom(...Object.keys(PROVINCES)),
      regencyCode: fc
        .integer({ min: 1, max: 99 })
        .filter((n) => n !== 70)
        .map((n) => String(n).padStart(2, '0')),
      districtCode: fc.integer({ min: 0, max: 99 }).map((n) => String(n).padStart(2, '0')),
      sex: fc.constantFrom('male' as const, 'female' as const),
      // Ages 0–98 on TODAY: under a 100-year window, so the century is unambiguous.
      birthDate: fc
        .integer({ min: Date.UTC(1927, 11, 1) / MS_PER_DAY, max: TODAY.getTime() / MS_PER_DAY })
        .map((n) => new Date(n * MS_PER_DAY).toISOString().slice(0, 10)),
      serial: fc.integer({ min: 1, max: 9999 }),
    });
    fc.assert(
      fc.property(input, (fields) => {
        const nik = generateNik(fields);
        const parsed = parseNik(nik, { today: TODAY, minAge: 0, maxAge: 98 });
        expect(parsed).toEqual({
          ok: true,
          value: {
            ...fields,
            nik,
            provinceName: PROVINCES[fields.provinceCode as keyof typeof PROVINCES],
            isCity: Number(fields.regencyCode) >= 71,
            serial: String(fields.serial).padStart(4, '0'),
          },
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('a one-digit change to a valid NIK fails parsing or changes a parsed field', () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 0, max: 143 }), (s, typo) => {
        const opts = { today: TODAY, ...PRAKERJA_AGE_RANGE };
        const person = generateValidPerson(s, TODAY);
        const original = parseNik(person.nik, opts);
        const changed = parseNik(typoVariant(person.nik, typo), opts);
        if (!original.ok) throw new Error('generated person did not parse');
        if (changed.ok) expect(withoutNik(changed.value)).not.toEqual(withoutNik(original.value));
      }),
      { numRuns: 5000 },
    );
  });

  it.each(['3204110609970001', '3276055708900002', '3515155202000005', '3273000101010001', '3273007101010001', '3329091003780012', '3602041211870001'])(
    'every one of the 144 one-digit changes to %s fails parsing or changes a parsed field',
    (nik) => {
      const opts = { today: TODAY, ...PRAKERJA_AGE_RANGE };
      const original = parseNik(nik, opts);
      if (!original.ok) throw new Error('example did not parse');
      for (const variant of typoVariants(nik)) {
        const changed = parseNik(variant, opts);
        if (changed.ok) expect(withoutNik(changed.value)).not.toEqual(withoutNik(original.value));
      }
    },
  );
});
