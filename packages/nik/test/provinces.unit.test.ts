import { isValidProvinceCode, PROVINCES } from '../src';

describe('PROVINCES', () => {
  it('holds exactly the 38 Kemendagri codes', () => {
    expect(Object.keys(PROVINCES)).toEqual([
      '11',
      '12',
      '13',
      '14',
      '15',
      '16',
      '17',
      '18',
      '19',
      '21',
      '31',
      '32',
      '33',
      '34',
      '35',
      '36',
      '51',
      '52',
      '53',
      '61',
      '62',
      '63',
      '64',
      '65',
      '71',
      '72',
      '73',
      '74',
      '75',
      '76',
      '81',
      '82',
      '91',
      '92',
      '93',
      '94',
      '95',
      '96',
    ]);
  });

  it('names provinces as NIK.md does', () => {
    expect(PROVINCES['19']).toBe('Kepulauan Bangka Belitung');
    expect(PROVINCES['31']).toBe('DKI Jakarta');
    expect(PROVINCES['34']).toBe('DI Yogyakarta');
    expect(PROVINCES['96']).toBe('Papua Barat Daya');
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(PROVINCES)).toBe(true);
  });
});

describe('isValidProvinceCode', () => {
  it.each(['11', '36', '65', '76', '82', '96'])('accepts %s', (code) => {
    expect(isValidProvinceCode(code)).toBe(true);
  });

  it.each(['10', '20', '22', '37', '54', '66', '77', '83', '90', '97', '00', '1', '011', '', 'toString', '__proto__'])('rejects %p', (code) => {
    expect(isValidProvinceCode(code)).toBe(false);
  });
});
