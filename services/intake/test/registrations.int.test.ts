import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Kafka } from 'kafkajs';
import { registrationSubmittedV1, REGISTRATION_SUBMITTED_V1 } from '@gelombang/contracts';
import { SESSION_COOKIE, seekWhenReady, type App } from '@gelombang/platform';
import { asApplicant, sessionFor, refusal, FORBIDDEN_SESSION_EN } from '@gelombang/testkit';
import { buildTestApp, capturedLogs, DATABASE_URL, dropSchema, KAFKA_BROKERS, person, testEnv, waitFor, type TestEnv } from './helpers/build-test-app';

/** Every personal value any test sent, to prove none of them reached a log line. */
const sentPii = new Set<string>();
const post = (app: App, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
  for (const k of ['nik', 'email', 'phone', 'fullName']) {
    const v = body[k];
    if (typeof v === 'string' && v.length >= 6) {
      sentPii.add(v);
      if (k === 'email') sentPii.add(v.toLowerCase());
    }
  }
  return app.inject({ method: 'POST', url: '/v1/registrations', payload: body, headers });
};

describe('POST /v1/registrations (real Kafka, PostgreSQL, Redis)', () => {
  let t: TestEnv;
  let app: App;
  let db: pg.Client;

  beforeAll(async () => {
    t = testEnv();
    app = await buildTestApp(t);
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await app.close();
    await db.end();
    await dropSchema(t.schema);
  });

  const rowOf = (id: string) => waitFor(async () => (await db.query(`SELECT * FROM ${t.schema}.registrations WHERE registration_id = $1`, [id])).rows[0]);

  it('when the body is valid, answers 202 after Kafka stored the event, and the sealed row reaches PostgreSQL', async () => {
    const body = person({ fullName: 'Siti Nurhaliza', phone: '+62 812 1111 2222', email: 'Siti.Valid@Example.CO.ID' });
    const res = await post(app, body);
    expect(res.statusCode).toBe(202);
    const { registrationId, status } = res.json();
    expect(status).toBe('pending_email_verification');
    expect(registrationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(res.headers.location).toBe(`/v1/registrations/${registrationId}`);

    const row = await rowOf(registrationId);
    expect(row.status).toBe('pending_email_verification');
    expect(t.cipher.decrypt(row.nik_enc, 'nik')).toBe(body.nik);
    expect(t.cipher.decrypt(row.email_enc, 'email')).toBe('siti.valid@example.co.id');
    expect(t.cipher.decrypt(row.phone_enc, 'phone')).toBe('+6281211112222');
    expect(t.cipher.decrypt(row.full_name_enc, 'fullName')).toBe('Siti Nurhaliza');
    expect(t.cipher.decrypt(row.birth_date_enc, 'birthDate')).toBe(body.birthDate);
    expect(row.nik_index).toBe(t.cipher.blindIndex('nik', body.nik));
    const rowText = JSON.stringify(row);
    for (const v of [body.nik, 'siti.valid@example.co.id', '6281211112222', 'Siti Nurhaliza']) expect(rowText).not.toContain(v);

    const view = await app.inject({ method: 'GET', url: `/v1/registrations/${registrationId}`, headers: asApplicant(registrationId) });
    expect(view.statusCode).toBe(200);
    expect(view.json()).toEqual({
      registrationId,
      status: 'pending_email_verification',
      emailMasked: 's***d@example.co.id',
      nikAttempt: 1,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it('publishes a CloudEvent on registration.submitted.v1 that an ordinary Kafka client reads, with no plaintext personal data', async () => {
    const body = person();
    const kafka = new Kafka({ brokers: KAFKA_BROKERS.split(','), clientId: 'ordinary-client', logLevel: 0 });
    const consumer = kafka.consumer({ groupId: `ordinary-${randomUUID()}` });
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(REGISTRATION_SUBMITTED_V1);
    await admin.disconnect();

    const res = await post(app, body);
    expect(res.statusCode).toBe(202);
    const { registrationId } = res.json();

    await consumer.connect();
    await consumer.subscribe({ topic: REGISTRATION_SUBMITTED_V1, fromBeginning: false });
    const found = new Promise<{ key: string; value: string; headers: Record<string, string> }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('event not seen')), 30_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const key = message.key?.toString();
            if (key !== undefined && key === registrationId) {
              clearTimeout(timer);
              resolve({ key, value: message.value!.toString(), headers: { ct: String(message.headers?.['content-type']) } });
            }
          },
        })
        .catch(reject);
    });
    // Seek each partition to where it ended before the POST: the event must be after that.
    await seekWhenReady(
      consumer,
      ends.map((e) => ({ topic: REGISTRATION_SUBMITTED_V1, partition: e.partition, offset: e.offset })),
    );
    const seen = await found;
    await consumer.disconnect();

    const event = registrationSubmittedV1.parse(JSON.parse(seen.value));
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'id.gelombang.registration.submitted.v1',
      subject: registrationId,
      datacontenttype: 'application/json',
    });
    expect(seen.headers.ct).toBe('application/cloudevents+json');
    for (const v of [body.nik, body.email, '6281234567890', body.fullName, body.birthDate]) expect(seen.value).not.toContain(v);
    expect(t.cipher.decrypt(event.data.pii.nik, 'nik')).toBe(body.nik);
  });

  it('answers a registration naming a registered email (in any case) like any other, and stores it as rejected_duplicate', async () => {
    const first = person();
    expect((await post(app, first)).statusCode).toBe(202);
    const sameEmail = await post(app, person({ email: first.email.toUpperCase() }), { 'accept-language': 'en' });
    expect(sameEmail.statusCode).toBe(202);
    expect(sameEmail.json()).toEqual({ registrationId: expect.any(String), status: 'pending_email_verification' });
    await waitFor(async () => ((await rowOf(sameEmail.json().registrationId)).status === 'rejected_duplicate' ? true : undefined));
    // A pending registration does not hold its NIK: another one may name it (the registry's match decides).
    const sameNik = await post(app, person({ nik: first.nik, birthDate: first.birthDate }));
    expect(sameNik.statusCode).toBe(202);
    expect((await rowOf(sameNik.json().registrationId)).status).toBe('pending_email_verification');
  });

  it('with INTAKE_CONFLICT_ANSWER=conflict, answers 409 INTAKE_EMAIL_ALREADY_REGISTERED at once, and claims nothing', async () => {
    const sync = testEnv({ INTAKE_CONFLICT_ANSWER: 'conflict', CONSUMER_ENABLED: 'false' });
    const syncApp = await buildTestApp(sync);
    try {
      const first = person();
      expect((await post(syncApp, first)).statusCode).toBe(202);
      const sameEmail = await post(syncApp, person({ email: first.email.toUpperCase() }), { 'accept-language': 'en' });
      expect(sameEmail.statusCode).toBe(409);
      expect(sameEmail.json()).toEqual({ code: 'INTAKE_EMAIL_ALREADY_REGISTERED', message: 'This email is already used by another registration.' });
    } finally {
      await syncApp.close();
      await dropSchema(sync.schema);
    }
  });

  it('with the same Idempotency-Key and body, answers the same 202 without a second registration; another body → 422', async () => {
    const body = person();
    const key = randomUUID();
    const a = await post(app, body, { 'idempotency-key': key });
    // Same body, keys in another order: still the same request.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const b = await post(app, reordered, { 'idempotency-key': key });
    expect(a.statusCode).toBe(202);
    expect(b.statusCode).toBe(202);
    expect(b.json()).toEqual(a.json());
    expect(b.headers['idempotent-replayed']).toBe('true');
    const c = await post(app, { ...body, fullName: 'Someone Else' }, { 'idempotency-key': key });
    expect([c.statusCode, c.json().code]).toEqual([422, 'INTAKE_IDEMPOTENCY_KEY_REUSED']);
    await rowOf(a.json().registrationId);
    const count = await db.query(`SELECT count(*)::int AS n FROM ${t.schema}.registrations WHERE nik_index = $1`, [t.cipher.blindIndex('nik', body.nik)]);
    expect(count.rows[0].n).toBe(1);
  });

  it('answers 413 for a body over 16 KiB and 415 for a body that is not JSON', async () => {
    const big = await post(app, { ...person(), fullName: 'A'.repeat(17 * 1024) });
    expect([big.statusCode, big.json().code]).toEqual([413, 'BODY_TOO_LARGE']);
    const text = await app.inject({
      method: 'POST',
      url: '/v1/registrations',
      payload: 'nik=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect([text.statusCode, text.json().code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
  });

  it('answers 404 INTAKE_REGISTRATION_NOT_FOUND for an unknown id and 400 for a malformed one', async () => {
    const unknown = randomUUID();
    const res = await app.inject({ method: 'GET', url: `/v1/registrations/${unknown}`, headers: asApplicant(unknown) });
    expect([res.statusCode, res.json().code]).toEqual([404, 'INTAKE_REGISTRATION_NOT_FOUND']);
    expect((await app.inject({ method: 'GET', url: '/v1/registrations/not-a-uuid', headers: asApplicant(unknown) })).statusCode).toBe(400);
  });

  describe('GET /v1/registrations/:id — only with the session of that registration', () => {
    const get = (id: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: `/v1/registrations/${id}`, headers });
    const registered = async () => {
      const res = await post(app, person());
      expect(res.statusCode).toBe(202);
      return res.json().registrationId as string;
    };

    it('without a session (none, not a JWT, not Bearer, or a malformed id) answers 401 SESSION_REQUIRED with a Bearer challenge', async () => {
      const id = await registered();
      for (const [url, headers] of [
        [id, {}],
        [id, { authorization: 'Bearer not-a-session' }],
        [id, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
        [id, { cookie: `${SESSION_COOKIE}=not-a-session` }],
        // Checked before the path is validated: an anonymous caller learns nothing, not even that the id is malformed.
        ['not-a-uuid', {}],
      ] as const) {
        const res = await get(url, headers);
        expect({ url, headers, status: res.statusCode, body: res.json(), challenge: res.headers['www-authenticate'] }).toEqual({
          url,
          headers,
          status: 401,
          body: { code: 'SESSION_REQUIRED', message: expect.any(String) },
          challenge: 'Bearer realm="gelombang"',
        });
      }
    });

    it("with another registration's session answers 403 SESSION_FORBIDDEN, the same whether or not that registration exists", async () => {
      const [mine, theirs] = [await registered(), await registered()];
      const headers = { ...asApplicant(mine), 'accept-language': 'en' };
      const [existing, missing] = [await get(theirs, headers), await get(randomUUID(), headers)];
      expect(refusal(existing)).toEqual(FORBIDDEN_SESSION_EN);
      expect(refusal(missing)).toEqual(refusal(existing));
      expect(existing.body).not.toContain(theirs);
    });

    it('with its own session, by header or by cookie, answers the status; an old proof of the code is enough to read it', async () => {
      const id = await registered();
      const token = sessionFor(id);
      for (const headers of [{ authorization: `Bearer ${token}` }, { cookie: `${SESSION_COOKIE}=${token}` }, asApplicant(id, Date.now() - 11 * 60_000)]) {
        const res = await get(id, headers);
        expect([res.statusCode, res.json().registrationId, res.json().status]).toEqual([200, id, 'pending_email_verification']);
      }
      // A session is a credential: no log line carries it (its signature is the secret part).
      expect(capturedLogs.join('')).not.toContain(token.split('.')[2]);
    });
  });

  it('documents its REST surface in OpenAPI, saying who may read a status', async () => {
    const spec = (await app.inject('/docs/openapi.json')).json();
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/registrations', '/v1/registrations/{id}']));
    expect(Object.keys(spec.paths['/v1/registrations'].post.responses)).toEqual(expect.arrayContaining(['202', '400', '409', '429', '503']));
    const status = spec.paths['/v1/registrations/{id}'].get;
    expect(Object.keys(status.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404']));
    expect(status.description).toContain('Only the applicant of this registration');
  });

  it('wrote no personal data to any log line', () => {
    const all = capturedLogs.join('');
    expect(capturedLogs.length).toBeGreaterThan(5);
    expect(sentPii.size).toBeGreaterThan(10);
    for (const v of sentPii) expect(all).not.toContain(v);
    expect(all).not.toContain('6281234567890');
    expect(all).not.toMatch(/@example\.co\.id/);
  });
});
