import { randomUUID } from 'node:crypto';
import { asApplicant, startPrivatePostgres, type PrivatePostgres } from '@gelombang/testkit';
import type { App } from '@gelombang/platform';
import * as email from '../services/email/test/helpers/build-test-app';
import * as nik from '../services/nik-verification/test/helpers/build-test-app';
import * as enrollment from '../services/enrollment/test/helpers/build-test-app';

/*
 * Issue #14: with PostgreSQL down, the email, NIK and enrollment routes answered 500. Each service here runs on a
 * private PostgreSQL that the test stops; every route that reads or writes it answers 503
 * STORE_UNAVAILABLE with Retry-After (the platform's error handler), in both languages.
 */
describe('email, NIK and enrollment routes while their PostgreSQL is down (private PostgreSQL)', () => {
  let pgServer: PrivatePostgres;
  const apps: App[] = [];

  beforeAll(async () => {
    pgServer = await startPrivatePostgres();
    const fast = { DATABASE_URL: pgServer.url, PG_CONNECT_TIMEOUT_MS: '500', PG_QUERY_TIMEOUT_MS: '1000' };
    apps.push(await email.buildTestApp(email.testEnv({ ...fast, MAIL_SENDER_ENABLED: 'false' })));
    apps.push(await nik.buildTestApp(nik.testEnv(fast)));
    apps.push(await enrollment.buildTestApp(enrollment.testEnv(fast)));
    await pgServer.stop();
  }, 120_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
    await pgServer.destroy();
  });

  const refusal = (r: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) => ({
    status: r.statusCode,
    retryAfter: r.headers['retry-after'],
    body: r.json(),
  });
  const EN = { code: 'STORE_UNAVAILABLE', message: 'The service cannot reach its data right now. Try again after the time given in Retry-After.' };
  const ID = { code: 'STORE_UNAVAILABLE', message: 'Layanan sedang tidak dapat menjangkau datanya. Coba lagi setelah waktu yang ditunjukkan Retry-After.' };

  it.each([
    ['email', 'GET', '/v1/email-verifications/:id', undefined],
    ['email', 'POST', '/v1/email-verifications/:id/confirm', { code: '123456' }],
    ['email', 'POST', '/v1/email-verifications/:id/resend', undefined],
    ['email', 'POST', '/v1/sessions', { email: 'budi@example.co.id' }],
    ['nik', 'GET', '/v1/nik-verifications/:id', undefined],
    ['enrollment', 'GET', '/v1/batches', undefined],
    ['enrollment', 'GET', '/v1/enrollments/:id', undefined],
  ] as const)('%s %s %s answers 503 STORE_UNAVAILABLE with Retry-After', async (service, method, path, payload) => {
    const app = apps[['email', 'nik', 'enrollment'].indexOf(service)]!;
    const id = randomUUID();
    const url = path.replace(':id', id);
    const headers = service === 'email' ? {} : asApplicant(id);
    const en = await app.inject({ method, url, headers: { ...headers, 'accept-language': 'en' }, ...(payload ? { payload } : {}) });
    expect(refusal(en)).toEqual({ status: 503, retryAfter: service === 'enrollment' ? '2' : '5', body: EN });
    const id_ = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    expect(refusal(id_)).toEqual({ status: 503, retryAfter: service === 'enrollment' ? '2' : '5', body: ID });
  });
});
