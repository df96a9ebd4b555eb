import type pg from 'pg';
import {
  DEADLETTER_V1,
  ENROLLMENT_ENROLLED_V1,
  ENROLLMENT_WITHDRAWN_V1,
  enrollmentEnrolledV1,
  enrollmentWithdrawnV1,
  makeEvent,
  REGISTRATION_STATUS_CHANGED_V1,
  registrationStatusChangedV1,
} from '@gelombang/contracts';
import { createPool, SESSION_COOKIE, type App } from '@gelombang/platform';
import { nikVerifiedHandler } from '../src/consumers/nik-verified.consumer';
import { EligibilityRepository } from '../src/data-access/eligibility-repository';
import { asApplicant, capturedLogs, dropSchema, sessionFor, TopicTap, waitFor, refusal, FORBIDDEN_SESSION_EN } from '@gelombang/testkit';
import {
  batchBody,
  batchState,
  buildTestApp,
  connectDb,
  createBatch,
  enrollBody,
  makeEligible,
  person,
  testEnv,
  VerifiedPublisher,
  type Person,
  type TestEnv,
} from './helpers/build-test-app';

describe('enrollment service (real Kafka, PostgreSQL, Redis)', () => {
  let t: TestEnv;
  let app: App;
  let db: pg.Client;
  let publisher: VerifiedPublisher;
  let tap: TopicTap;
  /** Every blind index this suite sent: none may reach a log line. */
  const sentIndexes: string[] = [];
  const eligible = async (n: number): Promise<Person[]> => {
    const people = Array.from({ length: n }, () => person());
    sentIndexes.push(...people.map((p) => p.nikIndex));
    await makeEligible(publisher, db, t.schema, people);
    return people;
  };
  /** As the applicant: with the registration's own session unless `headers` bring another (or none: `{ authorization: '' }`). */
  const enroll = (p: Person, batchId: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/enrollments', payload: enrollBody(p, batchId), headers: { ...asApplicant(p.registrationId), ...headers } });
  /** GET or DELETE /v1/enrollments/:registrationId, as its applicant unless `headers` say otherwise. */
  const seat = (method: 'GET' | 'DELETE', registrationId: string, headers: Record<string, string> = asApplicant(registrationId)) =>
    app.inject({ method, url: `/v1/enrollments/${registrationId}`, headers });
  const admin = (body: unknown, authorization?: string) =>
    app.inject({ method: 'POST', url: '/v1/admin/batches', payload: body as object, headers: authorization === undefined ? {} : { authorization } });

  beforeAll(async () => {
    t = testEnv();
    tap = await new TopicTap([ENROLLMENT_ENROLLED_V1, ENROLLMENT_WITHDRAWN_V1, REGISTRATION_STATUS_CHANGED_V1, DEADLETTER_V1]).start();
    [app, db] = await Promise.all([buildTestApp(t), connectDb()]);
    publisher = new VerifiedPublisher();
    await publisher.connect();
  });
  afterAll(async () => {
    await app?.close();
    await Promise.allSettled([publisher?.close(), tap?.stop(), db?.end()]);
    await dropSchema(t.schema);
  });

  describe('nik.verified.v1 consumer', () => {
    const row = (registrationId: string) =>
      db.query(`SELECT * FROM ${t.schema}.eligibility WHERE registration_id = $1`, [registrationId]).then((r) => r.rows[0]);

    it('stores a verified registration as eligible, with its blind index, province and verification time', async () => {
      const [p] = await eligible(1);
      expect(await row(p!.registrationId)).toMatchObject({ nik_index: p!.nikIndex, province_code: '32', attempt: 1, verified_at: expect.any(Date) });
    });

    it("a later attempt's event replaces nik_index; a replayed or older attempt never moves it back", async () => {
      const p = person();
      sentIndexes.push(p.nikIndex);
      await makeEligible(publisher, db, t.schema, [p]);
      const corrected = { ...p, nikIndex: person().nikIndex };
      sentIndexes.push(corrected.nikIndex);
      await publisher.publish([corrected], 2);
      await waitFor(async () => ((await row(p.registrationId))?.attempt === 2 ? true : undefined), 20_000, 'attempt 2');
      expect(await row(p.registrationId)).toMatchObject({ attempt: 2, nik_index: corrected.nikIndex });

      // A late attempt 1 (alone, then in one batch with attempt 2) through the consumer's handler.
      const pool = createPool({ url: t.config.DATABASE_URL, schema: t.schema, max: 1, applicationName: 'enrollment-test' });
      try {
        const handle = nikVerifiedHandler(new EligibilityRepository(pool), () => undefined);
        const event = (q: Person, attempt: number) =>
          makeEvent('id.gelombang.nik.verified.v1', 'urn:test', q.registrationId, {
            registrationId: q.registrationId,
            attempt,
            nikIndex: q.nikIndex,
            provinceCode: '32',
            verifiedAt: new Date().toISOString(),
          });
        await handle([event(p, 1)]);
        expect(await row(p.registrationId)).toMatchObject({ attempt: 2, nik_index: corrected.nikIndex });
        const q = person();
        const q3 = { ...q, nikIndex: person().nikIndex };
        await handle([event(q3, 3), event(q, 1), event(q3, 3)]);
        expect(await row(q.registrationId)).toMatchObject({ attempt: 3, nik_index: q3.nikIndex });
      } finally {
        await pool.end();
      }
    });

    it('dead-letters a poison message and keeps consuming', async () => {
      const key = `poison-${t.id}`;
      await publisher.publishRaw(key, '{"type":"id.gelombang.nik.verified.v1","data":{"registrationId":"not-a-uuid"}}');
      const [dead] = await tap.waitFor(DEADLETTER_V1, { key, timeoutMs: 20_000 });
      expect(dead).toMatchObject({ originalTopic: 'nik.verified.v1', consumerGroup: t.env.CONSUMER_GROUP, reason: expect.any(String) });
      await eligible(1); // still consuming
    });
  });

  describe('POST /v1/admin/batches', () => {
    it('without a bearer token answers 401, with a wrong one 403, both coded and before reading the body', async () => {
      const missing = await admin({ nonsense: true });
      expect(missing.statusCode).toBe(401);
      expect(missing.json()).toEqual({ code: 'ENROLLMENT_ADMIN_UNAUTHENTICATED', message: expect.any(String) });
      expect(missing.headers['www-authenticate']).toBe('Bearer');
      const basic = await admin(batchBody(), `Basic ${Buffer.from('a:b').toString('base64')}`);
      expect(basic.statusCode).toBe(401);
      const wrong = await admin({ nonsense: true }, `Bearer ${t.adminToken}x`);
      expect(wrong.statusCode).toBe(403);
      expect(wrong.json().code).toBe('ENROLLMENT_ADMIN_FORBIDDEN');
    });

    it('creates a batch (201), the same body again is 200, the same id with other values 409', async () => {
      const body = batchBody({ quota: 7 });
      const auth = `Bearer ${t.adminToken}`;
      const first = await admin(body, auth);
      expect(first.statusCode).toBe(201);
      expect(first.json()).toEqual({
        batchId: body.batchId,
        name: 'Gelombang uji',
        quota: 7,
        enrolled: 0,
        seatsLeft: 7,
        opensAt: body.opensAt,
        closesAt: body.closesAt,
        status: 'open',
      });
      // The same instants written with another offset are the same definition.
      const wib = new Date(Date.parse(body.opensAt) + 7 * 3600_000).toISOString().replace('Z', '+07:00');
      const again = await admin({ ...body, opensAt: wib }, auth);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual(first.json());
      const other = await admin({ ...body, quota: 8 }, auth);
      expect(other.statusCode).toBe(409);
      expect(other.json().code).toBe('ENROLLMENT_BATCH_CONFLICT');
      const one = await app.inject({ method: 'GET', url: `/v1/batches/${body.batchId}` });
      expect(one.json()).toEqual(first.json());
    });

    it('refuses bad bodies with 400 VALIDATION_FAILED naming every field', async () => {
      const res = await admin(
        { batchId: 'Gelombang 31!', name: '', quota: 0, opensAt: 'tomorrow', closesAt: '2026-01-01T00:00:00Z', extra: 1 },
        `Bearer ${t.adminToken}`,
      );
      expect(res.statusCode).toBe(400);
      const fields = res
        .json()
        .errors.map((e: { field: string }) => e.field)
        .sort();
      expect(res.json().code).toBe('VALIDATION_FAILED');
      expect(fields).toEqual(expect.arrayContaining(['batchId', 'name', 'quota', 'opensAt', 'extra']));
      const backwards = await admin(batchBody({ opensAt: '2030-01-02T00:00:00Z', closesAt: '2030-01-01T00:00:00Z' }), `Bearer ${t.adminToken}`);
      expect(backwards.statusCode).toBe(400);
      expect(backwards.json().errors).toEqual([{ field: 'closesAt', code: 'FIELD_INVALID', message: expect.any(String) }]);
    });
  });

  describe('GET /v1/batches', () => {
    it('lists open batches only, with seats left; unknown batch is 404', async () => {
      const open = await createBatch(app, t, { quota: 3 });
      const later = await createBatch(app, t, {
        opensAt: new Date(Date.now() + 3600_000).toISOString(),
        closesAt: new Date(Date.now() + 7200_000).toISOString(),
      });
      const list = (await app.inject({ method: 'GET', url: '/v1/batches' })).json().batches as Array<{ batchId: string; seatsLeft: number }>;
      expect(list.find((b) => b.batchId === open)).toMatchObject({ seatsLeft: 3, status: 'open' });
      expect(list.find((b) => b.batchId === later)).toBeUndefined();
      const missing = await app.inject({ method: 'GET', url: '/v1/batches/gelombang-none', headers: { 'accept-language': 'en' } });
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toEqual({ code: 'ENROLLMENT_BATCH_NOT_FOUND', message: 'Training batch not found.' });
    });
  });

  describe('POST /v1/enrollments', () => {
    it('enrolls an eligible person: 201, one row, counter +1, enrollment.enrolled.v1 and status-changed "enrolled" on Kafka', async () => {
      const [p] = await eligible(1);
      const batchId = await createBatch(app, t, { quota: 5 });
      const res = await enroll(p!, batchId);
      expect(res.statusCode).toBe(201);
      const body = res.json();
      expect(body).toEqual({
        enrollmentId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        registrationId: p!.registrationId,
        batchId,
        enrolledAt: expect.any(String),
      });
      expect(res.headers.location).toBe(`/v1/enrollments/${p!.registrationId}`);
      expect(await batchState(db, t.schema, batchId)).toEqual({ enrolled: 1, quota: 5, rows: 1 });

      const [enrolled] = await tap.waitFor(ENROLLMENT_ENROLLED_V1, { key: p!.registrationId });
      expect(enrollmentEnrolledV1.parse(enrolled).data).toEqual(body);
      const status = (await tap.waitFor(REGISTRATION_STATUS_CHANGED_V1, { key: p!.registrationId })).map((e) => registrationStatusChangedV1.parse(e));
      expect(status.map((e) => e.data)).toEqual([{ registrationId: p!.registrationId, status: 'enrolled', changedAt: body.enrolledAt }]);
      expect(status[0]!.source).toBe('urn:gelombang:enrollment');
      await waitFor(
        async () => ((await db.query(`SELECT count(*)::int AS n FROM ${t.schema}.outbox`)).rows[0].n === 0 ? true : undefined),
        10_000,
        'outbox drained',
      );

      const view = await seat('GET', p!.registrationId);
      expect(view.json()).toEqual({ ...body, status: 'active' });
    });

    it('the same request again answers 200 with the same enrollment and takes no second seat', async () => {
      const [p] = await eligible(1);
      const batchId = await createBatch(app, t, { quota: 5 });
      const first = await enroll(p!, batchId);
      const [again, third] = await Promise.all([enroll(p!, batchId), enroll(p!, batchId)]);
      expect(first.statusCode).toBe(201);
      expect([again.statusCode, third.statusCode]).toEqual([200, 200]);
      expect(again.json()).toEqual(first.json());
      expect(third.json()).toEqual(first.json());
      expect(await batchState(db, t.schema, batchId)).toEqual({ enrolled: 1, quota: 5, rows: 1 });
    });

    it('the same registration into a second batch answers 409 ENROLLMENT_ALREADY_ENROLLED', async () => {
      const [p] = await eligible(1);
      const [a, b] = [await createBatch(app, t), await createBatch(app, t)];
      expect((await enroll(p!, a)).statusCode).toBe(201);
      const second = await enroll(p!, b, { 'accept-language': 'en' });
      expect(second.statusCode).toBe(409);
      expect(second.json()).toEqual({
        code: 'ENROLLMENT_ALREADY_ENROLLED',
        message: 'You are already enrolled in another batch. One person may hold one active batch.',
      });
      expect((await batchState(db, t.schema, b)).enrolled).toBe(0);
    });

    it('a registration without a verified NIK answers 403 ENROLLMENT_NOT_ELIGIBLE', async () => {
      const batchId = await createBatch(app, t);
      const res = await enroll(person(), batchId);
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('ENROLLMENT_NOT_ELIGIBLE');
      expect((await batchState(db, t.schema, batchId)).enrolled).toBe(0);
    });

    it('unknown batch 404, not open yet 409, closed 409, bad body 400 — and nothing is taken', async () => {
      const [p] = await eligible(1);
      const unknown = await enroll(p!, 'gelombang-does-not-exist');
      expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'ENROLLMENT_BATCH_NOT_FOUND']);
      const soon = await createBatch(app, t, {
        opensAt: new Date(Date.now() + 3600_000).toISOString(),
        closesAt: new Date(Date.now() + 7200_000).toISOString(),
      });
      const early = await enroll(p!, soon);
      expect([early.statusCode, early.json().code]).toEqual([409, 'ENROLLMENT_BATCH_NOT_OPEN']);
      const past = await createBatch(app, t, {
        opensAt: new Date(Date.now() - 7200_000).toISOString(),
        closesAt: new Date(Date.now() - 3600_000).toISOString(),
      });
      const late = await enroll(p!, past);
      expect([late.statusCode, late.json().code]).toEqual([409, 'ENROLLMENT_BATCH_CLOSED']);
      const bad = await app.inject({
        method: 'POST',
        url: '/v1/enrollments',
        payload: { registrationId: 'nope', batchId: 'X Y' },
        headers: asApplicant(p!.registrationId),
      });
      expect(bad.statusCode).toBe(400);
      expect(
        bad
          .json()
          .errors.map((e: { field: string }) => e.field)
          .sort(),
      ).toEqual(['batchId', 'registrationId']);
      const notJson = await app.inject({
        method: 'POST',
        url: '/v1/enrollments',
        payload: '{"registrationId":',
        headers: { 'content-type': 'application/json', ...asApplicant(p!.registrationId) },
      });
      expect([notJson.statusCode, notJson.json().code]).toEqual([400, 'MALFORMED_JSON']);
      const rows = await db.query(`SELECT count(*)::int AS n FROM ${t.schema}.enrollments WHERE registration_id = $1`, [p!.registrationId]);
      expect(rows.rows[0].n).toBe(0);
    });

    it('a batch opening while clients wait: refused before opensAt, enrolled after it', async () => {
      const [p] = await eligible(1);
      const batchId = await createBatch(app, t, { opensAt: new Date(Date.now() + 1_500).toISOString() });
      expect((await enroll(p!, batchId)).json().code).toBe('ENROLLMENT_BATCH_NOT_OPEN');
      const res = await waitFor(
        async () => {
          const r = await enroll(p!, batchId);
          return r.statusCode === 201 ? r : undefined;
        },
        10_000,
        'the opening',
      );
      expect(res.json().batchId).toBe(batchId);
    });
  });

  describe('DELETE /v1/enrollments/:registrationId', () => {
    it('withdraws: the seat is freed for the next person, enrollment.withdrawn.v1 is published, a second DELETE is 404', async () => {
      const [a, b, c] = await eligible(3);
      const batchId = await createBatch(app, t, { quota: 2 });
      expect((await enroll(a!, batchId)).statusCode).toBe(201);
      expect((await enroll(b!, batchId)).statusCode).toBe(201);
      expect((await enroll(c!, batchId)).json().code).toBe('ENROLLMENT_BATCH_FULL');

      const del = await seat('DELETE', a!.registrationId);
      expect(del.statusCode).toBe(200);
      expect(del.json()).toMatchObject({ registrationId: a!.registrationId, batchId, status: 'withdrawn', endedAt: expect.any(String) });
      const [withdrawn] = await tap.waitFor(ENROLLMENT_WITHDRAWN_V1, { key: a!.registrationId });
      expect(enrollmentWithdrawnV1.parse(withdrawn).data).toEqual({
        enrollmentId: del.json().enrollmentId,
        registrationId: a!.registrationId,
        batchId,
        reason: 'WITHDRAWN_BY_APPLICANT',
        endedAt: del.json().endedAt,
      });

      expect((await enroll(c!, batchId)).statusCode).toBe(201);
      expect(await batchState(db, t.schema, batchId)).toEqual({ enrolled: 2, quota: 2, rows: 2 });
      const again = await seat('DELETE', a!.registrationId);
      expect([again.statusCode, again.json().code]).toEqual([404, 'ENROLLMENT_NOT_FOUND']);
      expect((await seat('GET', a!.registrationId)).json().status).toBe('withdrawn');
      // Having withdrawn, the person may take a seat elsewhere.
      const other = await createBatch(app, t);
      expect((await enroll(a!, other)).statusCode).toBe(201);
      expect((await seat('GET', a!.registrationId)).json()).toMatchObject({ batchId: other, status: 'active' });

      // The applicant's registration status follows the seat: enrolled, withdrawn, enrolled again.
      const statuses = await tap.waitFor(REGISTRATION_STATUS_CHANGED_V1, { key: a!.registrationId, count: 3 });
      expect(statuses.map((e) => [e.data.status, e.data.reason])).toEqual([
        ['enrolled', undefined],
        ['withdrawn', 'WITHDRAWN_BY_APPLICANT'],
        ['enrolled', undefined],
      ]);
      expect(statuses[1].data.changedAt).toBe(del.json().endedAt);
    });

    it('GET and DELETE of a registration that never enrolled answer 404 ENROLLMENT_NOT_FOUND', async () => {
      const p = person();
      for (const method of ['GET', 'DELETE'] as const) {
        const res = await seat(method, p.registrationId);
        expect([res.statusCode, res.json().code]).toEqual([404, 'ENROLLMENT_NOT_FOUND']);
      }
    });
  });

  describe('applicant sessions: enrolling, a seat and withdrawing are the applicant’s own', () => {
    const routes = (id: string, batchId: string) =>
      [
        { method: 'POST', url: '/v1/enrollments', payload: { registrationId: id, batchId } },
        { method: 'GET', url: `/v1/enrollments/${id}` },
        { method: 'DELETE', url: `/v1/enrollments/${id}` },
      ] as const;
    const answer = refusal;

    it('without a session (none, not a JWT, the admin token) answers 401 SESSION_REQUIRED with a Bearer challenge, before the body is read', async () => {
      const [p] = await eligible(1);
      const batchId = await createBatch(app, t);
      expect((await enroll(p!, batchId)).statusCode).toBe(201);
      const anonymous = [
        {},
        { authorization: 'Bearer not-a-session' },
        { authorization: `Bearer ${t.adminToken}` },
        { cookie: `${SESSION_COOKIE}=${t.adminToken}` },
      ];
      for (const route of [...routes(p!.registrationId, batchId), { method: 'POST', url: '/v1/enrollments', payload: { registrationId: 'nope' } } as const])
        for (const headers of anonymous) {
          const res = await app.inject({ ...route, headers });
          expect({ route: `${route.method} ${route.url}`, ...answer(res) }).toEqual({
            route: `${route.method} ${route.url}`,
            status: 401,
            body: { code: 'SESSION_REQUIRED', message: expect.any(String) },
            type: 'application/json; charset=utf-8',
            challenge: 'Bearer realm="gelombang"',
          });
        }
      expect((await seat('GET', p!.registrationId)).json()).toMatchObject({ batchId, status: 'active' });
    });

    it("with another registration's session answers 403 SESSION_FORBIDDEN on every route, the same whether or not it exists, and changes nothing", async () => {
      const [victim, intruder] = await eligible(2);
      const batchId = await createBatch(app, t, { quota: 5 });
      expect((await enroll(victim!, batchId)).statusCode).toBe(201);
      const theirs = { ...asApplicant(intruder!.registrationId), 'accept-language': 'en' };
      const missing = routes(person().registrationId, batchId);
      for (const [i, route] of routes(victim!.registrationId, batchId).entries()) {
        const [onVictim, onNobody] = [await app.inject({ ...route, headers: theirs }), await app.inject({ ...missing[i]!, headers: theirs })];
        expect({ route: route.method, ...answer(onVictim) }).toEqual({ route: route.method, ...FORBIDDEN_SESSION_EN });
        expect(answer(onNobody)).toEqual(answer(onVictim));
      }
      // The victim's seat is still theirs; the intruder took none.
      expect((await seat('GET', victim!.registrationId)).json()).toMatchObject({ batchId, status: 'active' });
      expect(await batchState(db, t.schema, batchId)).toEqual({ enrolled: 1, quota: 5, rows: 1 });
    });

    it('withdrawing needs a code proved within SESSION_FRESH_SEC: an 11-minute-old proof answers 401 SESSION_NOT_FRESH and the seat stays', async () => {
      const [p] = await eligible(1);
      const batchId = await createBatch(app, t, { quota: 5 });
      const old = asApplicant(p!.registrationId, Date.now() - 11 * 60_000);
      // Enrolling and reading the seat do not need a fresh proof.
      expect((await enroll(p!, batchId, old)).statusCode).toBe(201);
      const stale = await seat('DELETE', p!.registrationId, old);
      expect([stale.statusCode, stale.json().code, stale.headers['www-authenticate']]).toEqual([401, 'SESSION_NOT_FRESH', 'Bearer realm="gelombang"']);
      expect((await seat('GET', p!.registrationId, old)).json()).toMatchObject({ batchId, status: 'active' });
      expect(await batchState(db, t.schema, batchId)).toEqual({ enrolled: 1, quota: 5, rows: 1 });
      // Signed in again (a fresh code), by cookie as a browser would: the withdrawal goes through.
      const fresh = await seat('DELETE', p!.registrationId, { cookie: `${SESSION_COOKIE}=${sessionFor(p!.registrationId)}` });
      expect([fresh.statusCode, fresh.json().status]).toEqual([200, 'withdrawn']);
    });

    it("an applicant's session is no admin token: the operators' route refuses it (403), and a session cookie alone is no bearer token (401)", async () => {
      const token = sessionFor(person().registrationId);
      const asBearer = await admin(batchBody(), `Bearer ${token}`);
      expect([asBearer.statusCode, asBearer.json().code]).toEqual([403, 'ENROLLMENT_ADMIN_FORBIDDEN']);
      const asCookie = await app.inject({ method: 'POST', url: '/v1/admin/batches', payload: batchBody(), headers: { cookie: `${SESSION_COOKIE}=${token}` } });
      expect([asCookie.statusCode, asCookie.json().code]).toEqual([401, 'ENROLLMENT_ADMIN_UNAUTHENTICATED']);
      expect(capturedLogs.join('')).not.toContain(token.split('.')[2]);
    });

    it('documents who may call each route in OpenAPI', async () => {
      const spec = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json();
      for (const op of [
        spec.paths['/v1/enrollments'].post,
        spec.paths['/v1/enrollments/{registrationId}'].get,
        spec.paths['/v1/enrollments/{registrationId}'].delete,
      ]) {
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['400', '401', '403']));
        expect(op.description).toContain('Only the applicant of this registration');
      }
      expect(spec.paths['/v1/enrollments/{registrationId}'].delete.description).toContain('SESSION_NOT_FRESH');
    });
  });

  describe('operations', () => {
    it('is ready when PostgreSQL, Kafka, the consumer and the outbox relay are; /metrics has outcomes and seats left per batch', async () => {
      const ready = await app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.json()).toEqual({ status: 'ok', checks: { postgres: 'ok', kafka: 'ok', outbox: 'ok', consumers: 'ok' } });
      const batchId = await createBatch(app, t, { quota: 4 });
      const [p] = await eligible(1);
      await enroll(p!, batchId);
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toContain(`enrollment_batch_seats_left{batch_id="${batchId}",service="enrollment"} 3`);
      expect(metrics).toMatch(/enrollment_requests_total\{outcome="enrolled",answered_by="postgres",service="enrollment"\} \d+/);
      expect(metrics).toMatch(/enrollment_requests_total\{outcome="ENROLLMENT_NOT_ELIGIBLE",answered_by="postgres",service="enrollment"\} \d+/);
      const spec = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json();
      expect(Object.keys(spec.paths)).toEqual(
        expect.arrayContaining(['/v1/enrollments', '/v1/enrollments/{registrationId}', '/v1/batches', '/v1/admin/batches']),
      );
    });

    it('wrote no blind index and no admin token to any log line', () => {
      const logs = capturedLogs.join('');
      expect(logs).toContain('"msg":"enrolled"');
      for (const v of [...sentIndexes, t.adminToken]) expect(logs).not.toContain(v);
    });
  });
});
