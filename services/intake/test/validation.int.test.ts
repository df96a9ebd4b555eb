import type { App } from '@gelombang/platform';
import { buildTestApp, dropSchema, person, testEnv, type TestEnv } from './helpers/build-test-app';

/** Registration day is pinned to 2026-11-30 (helpers): ages below are counted from it. */
describe('POST /v1/registrations validation', () => {
  let t: TestEnv;
  let app: App;
  beforeAll(async () => {
    t = testEnv({ CONSUMER_ENABLED: 'false', RATE_LIMIT_CLIENT_BURST: '10000' });
    app = await buildTestApp(t);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(t.schema);
  });

  const post = (body: Record<string, unknown>, lang?: string) =>
    app.inject({ method: 'POST', url: '/v1/registrations', payload: body, headers: lang ? { 'accept-language': lang } : {} });
  const codes = async (body: Record<string, unknown>) => {
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('VALIDATION_FAILED');
    return (res.json().errors as Array<{ field: string; code: string }>).map((e) => `${e.field}:${e.code}`).sort();
  };
  const accepted = async (body: Record<string, unknown>) => {
    const res = await post(body);
    expect(res.json()).toMatchObject({ status: 'pending_email_verification' });
    expect(res.statusCode).toBe(202);
  };

  it.each([
    ['3204110609970001', '1997-09-06', 'male, 6 Sep 1997 (published example)'],
    ['3276055708900002', '1990-08-17', 'female, 17 Aug 1990 (+40 on the day)'],
    ['3515155202000005', '2000-02-12', 'female, 12 Feb 2000'],
    ['3329091003780012', '1978-03-10', 'male, 10 Mar 1978'],
    ['3171012902000001', '2000-02-29', '29 February in a leap year'],
    ['3171016902000002', '2000-02-29', '29 February in a leap year, female'],
  ])('accepts NIK %s with birth date %s (%s)', async (nik, birthDate) => {
    await accepted(person({ nik, birthDate }));
  });

  it.each([
    ['2004110609970001', '1997-09-06', ['nik:NIK_PROVINCE_UNKNOWN']],
    ['9704110609970001', '1997-09-06', ['nik:NIK_PROVINCE_UNKNOWN']],
    ['3204110609970000', '1997-09-06', ['nik:NIK_SERIAL_ZERO']],
    ['3200110609970001', '1997-09-06', ['nik:NIK_REGENCY_INVALID']],
    ['3270110609970001', '1997-09-06', ['nik:NIK_REGENCY_INVALID']],
    ['3171012902010001', '2001-03-01', ['nik:NIK_BIRTH_DATE_INVALID']],
    ['3204113209970001', '1997-09-06', ['nik:NIK_BIRTH_DATE_INVALID']],
    ['3204110613970001', '1997-09-06', ['nik:NIK_BIRTH_DATE_INVALID']],
    ['3204110609970001', '1997-09-07', ['nik:NIK_BIRTH_DATE_MISMATCH']],
    ['3204110609980001', '1997-09-06', ['nik:NIK_BIRTH_DATE_MISMATCH']],
    ['3204114609970001', '1997-09-16', ['nik:NIK_BIRTH_DATE_MISMATCH']],
    ['320411060997000', '1997-09-06', ['nik:NIK_FORMAT']],
    ['32041106099700a1', '1997-09-06', ['nik:NIK_FORMAT']],
  ])('refuses NIK %s with birth date %s: %j', async (nik, birthDate, expected) => {
    expect(await codes(person({ nik, birthDate }))).toEqual([...expected].sort());
  });

  it('refuses 29 February in a non-leap year as a birth date and inside the NIK', async () => {
    expect(await codes(person({ nik: '3171012902010001', birthDate: '2001-02-29' }))).toEqual(['birthDate:BIRTH_DATE_INVALID', 'nik:NIK_BIRTH_DATE_INVALID']);
  });

  it('takes ages 18 to 64 on the registration day, and refuses 17 and 65', async () => {
    await accepted(person({ nik: '3171013011080001', birthDate: '2008-11-30' })); // 18 today
    await accepted(person({ nik: '3171010112620001', birthDate: '1962-12-01' })); // 64, 65 tomorrow
    expect(await codes(person({ nik: '3171010112080001', birthDate: '2008-12-01' }))).toEqual(['birthDate:AGE_OUT_OF_RANGE']);
    expect(await codes(person({ nik: '3171013011610001', birthDate: '1961-11-30' }))).toEqual(['birthDate:AGE_OUT_OF_RANGE']);
  });

  it.each([
    ['081234567890', true],
    ['+62 812-3456-7891', true],
    ['6285712345678', true],
    ['0212345678', false],
    ['+1 415 555 0100', false],
    ['08123', false],
  ])('phone %s accepted: %p', async (phone, ok) => {
    if (ok) await accepted(person({ phone }));
    else expect(await codes(person({ phone }))).toEqual(['phone:PHONE_INVALID']);
  });

  it.each([
    ['Ni Luh Putu Ayu', true],
    ["Siti Nur'aini", true],
    ['Dr. Andi-Wijaya', true],
    ['李小龍', true],
    ['A', false],
    ['Budi 123', false],
    ['<script>', false],
  ])('full name %s accepted: %p', async (fullName, ok) => {
    if (ok) await accepted(person({ fullName }));
    else expect((await codes(person({ fullName })))[0]).toMatch(/^fullName:(NAME_TOO_SHORT|FULL_NAME_INVALID_CHARACTERS)$/);
  });

  it('lists every bad field at once, with messages in Indonesian by default and English on request', async () => {
    const body = { fullName: '1', nik: '1234', email: 'not-an-email', phone: '12', birthDate: '1990-13-01', hobby: 'x' };
    const id = await post(body);
    expect(id.statusCode).toBe(400);
    expect(id.json().message).toBe('Data yang dikirim tidak valid. Periksa kolom yang disebutkan.');
    const fields = id
      .json()
      .errors.map((e: { field: string }) => e.field)
      .sort();
    expect(fields).toEqual(['birthDate', 'email', 'fullName', 'hobby', 'nik', 'phone']);
    expect(id.json().errors.find((e: { field: string }) => e.field === 'nik')).toEqual({ field: 'nik', code: 'NIK_FORMAT', message: 'NIK harus 16 angka.' });
    const en = await post(body, 'en-GB,en;q=0.9');
    expect(en.json().errors.find((e: { field: string }) => e.field === 'nik').message).toBe('The NIK must be 16 digits.');
    expect(en.json().message).toBe('The submitted data is invalid. Check the listed fields.');
  });

  it('names missing required fields', async () => {
    const res = await post({});
    expect(
      res
        .json()
        .errors.map((e: { field: string; code: string }) => `${e.field}:${e.code}`)
        .sort(),
    ).toEqual(['birthDate:FIELD_REQUIRED', 'email:FIELD_REQUIRED', 'fullName:FIELD_REQUIRED', 'nik:FIELD_REQUIRED', 'phone:FIELD_REQUIRED']);
  });

  it('checks the optional family card number', async () => {
    expect(await codes(person({ kkNumber: '2004111234567890' }))).toEqual(['kkNumber:KK_NUMBER_INVALID']);
    await accepted(person({ kkNumber: '3204111234567890', birthPlace: 'Bandung' }));
  });
});
