import { isNikFormat, maskNik } from '../src';

describe('maskNik', () => {
  it('keeps province, regency and the last two digits', () => {
    expect(maskNik('3204110609970001')).toBe('3204**********01');
    expect(maskNik('3276055708900002')).toBe('3276**********02');
  });

  it.each(['', '320411060997', '３２０４１１０６０９９７０００１', '32041106099700011'])('masks %p whole, revealing nothing', (nik) => {
    expect(maskNik(nik)).toBe('****************');
  });
});

describe('isNikFormat', () => {
  it('accepts 16 ASCII digits, even when the NIK is otherwise invalid', () => {
    expect(isNikFormat('0000000000000000')).toBe(true);
  });

  it.each(['', '320411060997000', '３２０４１１０６０９９７０００１', '3204110609970001 ', null, 3204110609970001])('rejects %p', (nik) => {
    expect(isNikFormat(nik)).toBe(false);
  });
});
