import { checkNikMatchesBirthDate } from '../src';

describe('checkNikMatchesBirthDate', () => {
  it.each([
    ['3204110609970001', '1997-09-06'],
    ['3276055708900002', '1990-08-17'],
    ['3273007101010001', '2001-01-31'],
    ['3515155202000005', '2000-02-12'],
  ])('%s matches %s', (nik, birthDate) => {
    expect(checkNikMatchesBirthDate(nik, birthDate)).toEqual([]);
  });

  it.each([
    ['a different day', '1997-09-07'],
    ['a different month', '1997-10-06'],
    ['a different two-digit year', '1998-09-06'],
    ['day and month swapped', '1997-06-09'],
  ])('reports NIK_BIRTH_DATE_MISMATCH for %s', (_label, birthDate) => {
    expect(checkNikMatchesBirthDate('3204110609970001', birthDate)).toEqual([{ code: 'NIK_BIRTH_DATE_MISMATCH' }]);
  });

  it("removes 40 from a woman's day before comparing", () => {
    expect(checkNikMatchesBirthDate('3276055708900002', '1990-08-17')).toEqual([]);
    expect(checkNikMatchesBirthDate('3276055708900002', '1990-08-16')).toEqual([{ code: 'NIK_BIRTH_DATE_MISMATCH' }]);
  });

  it('compares only the two-digit year the NIK holds', () => {
    expect(checkNikMatchesBirthDate('3204110101000001', '1900-01-01')).toEqual([]);
    expect(checkNikMatchesBirthDate('3204110101000001', '2000-01-01')).toEqual([]);
  });

  it('reports a mismatch for a NIK whose own date is impossible', () => {
    expect(checkNikMatchesBirthDate('3204113202970001', '1997-02-01')).toEqual([{ code: 'NIK_BIRTH_DATE_MISMATCH' }]);
  });

  it('reports NIK_FORMAT for a NIK that is not 16 digits', () => {
    expect(checkNikMatchesBirthDate('320411060997', '1997-09-06')).toEqual([{ code: 'NIK_FORMAT' }]);
  });

  it.each(['1997-02-30', '1997-9-6', '06-09-1997', ''])('throws RangeError for birth date %p', (birthDate) => {
    expect(() => checkNikMatchesBirthDate('3204110609970001', birthDate)).toThrow(RangeError);
  });
});
