import { asApplicant, startPrivatePostgres, type PrivatePostgres } from '@gelombang/testkit';
import type { App } from '@gelombang/platform';
import { buildTestApp, person, testEnv } from './helpers/build-test-app';

/*
 * The intake API's hot path (POST) needs Redis and Kafka only. With its PostgreSQL (a private cluster
 * this test stops) gone, it stays in rotation — readiness 200, postgres degraded — and keeps accepting;
 * the status route, which reads PostgreSQL, answers 503 with Retry-After instead of a 500.
 */
describe('intake while PostgreSQL is down (private PostgreSQL)', () => {
  let pgServer: PrivatePostgres;
  let app: App;

  beforeAll(async () => {
    pgServer = await startPrivatePostgres();
    const t = testEnv({ DATABASE_URL: pgServer.url, PG_CONNECT_TIMEOUT_MS: '500', PG_QUERY_TIMEOUT_MS: '1000', INTAKE_WARMUP_REQUESTS: '0' });
    app = await buildTestApp(t);
  });
  afterAll(async () => {
    await app?.close();
    await pgServer.destroy();
  });

  it('stays ready (postgres degraded), answers POST 202, and GET /v1/registrations/:id 503 with Retry-After; all well again once it is back', async () => {
    const before = await app.inject({ method: 'POST', url: '/v1/registrations', payload: person() });
    expect(before.statusCode).toBe(202);
    const { registrationId } = before.json<{ registrationId: string }>();

    await pgServer.stop();

    const ready = await app.inject('/health/ready');
    expect({ status: ready.statusCode, body: ready.json() }).toEqual({
      status: 200,
      body: { status: 'degraded', checks: { postgres: expect.stringMatching(/^degraded: /), kafka: 'ok', outbox: 'ok', consumers: 'ok', retention: 'ok' } },
    });

    const during = await app.inject({ method: 'POST', url: '/v1/registrations', payload: person() });
    expect(during.statusCode).toBe(202);

    const status = await app.inject({ url: `/v1/registrations/${registrationId}`, headers: { ...asApplicant(registrationId), 'accept-language': 'en' } });
    expect({ status: status.statusCode, retryAfter: status.headers['retry-after'], body: status.json() }).toEqual({
      status: 503,
      retryAfter: '5',
      body: { code: 'STORE_UNAVAILABLE', message: 'The service cannot reach its data right now. Try again after the time given in Retry-After.' },
    });

    await pgServer.start();
    const accepted = during.json<{ registrationId: string }>().registrationId;
    // The status route reads PostgreSQL again.
    const deadline = Date.now() + 30_000;
    let view = await app.inject({ url: `/v1/registrations/${accepted}`, headers: asApplicant(accepted) });
    while (view.statusCode !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      view = await app.inject({ url: `/v1/registrations/${accepted}`, headers: asApplicant(accepted) });
    }
    expect({ status: view.statusCode, registrationId: view.json<{ registrationId: string }>().registrationId }).toEqual({
      status: 200,
      registrationId: accepted,
    });
    expect((await app.inject('/health/ready')).json()).toMatchObject({ status: 'ok' });
  });
});
