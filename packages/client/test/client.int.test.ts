/**
 * The typed client against the real services (in-process apps on their own ports, the real Kafka,
 * PostgreSQL, Redis, MailDev and the registry stand-in): the whole funnel through it, and what it
 * promises on top of openapi-fetch — an Idempotency-Key kept across its retries, Retry-After honoured,
 * the session carried, errors in the applicant's language.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createGelombangClient, DEFAULT_RETRY, type ApiError, type ClientOptions, type GelombangClient } from '@gelombang/client';
import { generateValidPerson, serialTypo } from '@gelombang/nik';
import type { App } from '@gelombang/platform';
import { dropSchema, startMailDev, testPiiEnv, waitFor, type MailDev } from '@gelombang/testkit';
import { buildTestApp as buildIntake, testEnv as intakeEnv, TODAY } from '../../../services/intake/test/helpers/build-test-app';
import { buildTestApp as buildEmail, codeOf, testEnv as emailEnv } from '../../../services/email/test/helpers/build-test-app';
import { buildTestApp as buildNik, startSim, testEnv as nikEnv, type Sim } from '../../../services/nik-verification/test/helpers/build-test-app';
import { buildTestApp as buildEnrollment, testEnv as enrollmentEnv } from '../../../services/enrollment/test/helpers/build-test-app';

jest.setTimeout(180_000);

describe('@gelombang/client against the running services', () => {
  const pii = testPiiEnv();
  let mail: MailDev;
  let sim: Sim;
  let apps: { intake: App; email: App; nik: App; enrollment: App; tightIntake: App };
  let adminToken: string;
  let origins: Record<keyof typeof apps, string>;
  const schemas: string[] = [];

  beforeAll(async () => {
    [mail, sim] = await Promise.all([startMailDev(), startSim()]);
    const intakeT = intakeEnv({ ...pii, CONSUMER_START_AT: 'end' });
    // Another intake whose client bucket holds 1 with a refill of 1/s: a second quick registration gets 429.
    const tightT = intakeEnv({ ...pii, CONSUMER_ENABLED: 'false', RATE_LIMIT_CLIENT_BURST: '1', RATE_LIMIT_CLIENT_PER_SEC: '1' });
    const emailT = emailEnv({ ...pii, MAIL_SMTP_URL: mail.smtpUrl, MAIL_POLL_MS: '100' });
    const nikT = nikEnv({ ...pii, REGISTRY_URL: sim.url });
    const enrollmentT = enrollmentEnv({ ...pii });
    adminToken = enrollmentT.adminToken;
    schemas.push(tightT.schema, intakeT.schema, emailT.schema, nikT.schema, enrollmentT.schema);
    const [intake, email, nik, enrollment, tightIntake] = await Promise.all([
      buildIntake(intakeT),
      buildEmail(emailT),
      buildNik(nikT),
      buildEnrollment(enrollmentT),
      buildIntake(tightT),
    ]);
    apps = { intake, email, nik, enrollment, tightIntake };
    const listen = async (a: App) => `http://127.0.0.1:${(await a.listen({ host: '127.0.0.1', port: 0 })) && (a.server.address() as { port: number }).port}`;
    origins = {
      intake: await listen(intake),
      email: await listen(email),
      nik: await listen(nik),
      enrollment: await listen(enrollment),
      tightIntake: await listen(tightIntake),
    };
  });
  afterAll(async () => {
    await Promise.all(Object.values(apps ?? {}).map((a) => a.close()));
    await Promise.all([mail?.stop(), sim?.close()]);
    for (const s of schemas) await dropSchema(s);
  });

  /** Each service on its own port here: the path's first segments say which (as the edge routes). */
  const serviceOf = (path: string): keyof typeof apps =>
    path.startsWith('/v1/registrations')
      ? 'intake'
      : path.startsWith('/v1/email-verifications') || path.startsWith('/v1/sessions')
        ? 'email'
        : path.startsWith('/v1/nik-verifications')
          ? 'nik'
          : 'enrollment';
  /** What went over the wire: every try, with the headers it carried. */
  interface Sent {
    method: string;
    path: string;
    headers: Headers;
    status?: number;
    replayed?: string | null;
  }
  const clientWith = (options: ClientOptions & { lose?: (sent: Sent, n: number) => boolean; intake?: 'tightIntake' } = {}) => {
    const sent: Sent[] = [];
    const waits: number[] = [];
    const client = createGelombangClient({
      ...options,
      baseUrl: 'http://gelombang.test',
      // Real waits, recorded.
      retry: { sleep: (ms, signal) => (waits.push(ms), DEFAULT_RETRY.sleep(ms, signal)), ...options.retry },
      fetch: async (req) => {
        const url = new URL(req.url);
        const s: Sent = { method: req.method, path: url.pathname, headers: new Headers(req.headers) };
        sent.push(s);
        const service = serviceOf(url.pathname);
        const origin = origins[service === 'intake' ? (options.intake ?? service) : service];
        const res = await fetch(new Request(`${origin}${url.pathname}${url.search}`, req));
        s.status = res.status;
        s.replayed = res.headers.get('idempotent-replayed');
        // The answer is lost on the way back (the server did the work): the client sees a network error.
        if (options.lose?.(s, sent.length)) throw new TypeError('fetch failed');
        return res;
      },
    });
    return { client, sent, waits };
  };

  const newPerson = () => {
    const p = generateValidPerson(randomBytes(4).readUInt32BE(0), TODAY);
    return { fullName: 'Rina Kartika', nik: p.nik, birthDate: p.birthDate, email: `rina.${randomUUID().slice(0, 8)}@example.co.id`, phone: '081234567890' };
  };
  const codeFor = async (address: string) => codeOf(await waitFor(async () => (await mail.emailsTo(address))[0], 30_000, `the code mail to ${address}`));
  const statusOf = async (c: GelombangClient, id: string) => c.ok(c.api.GET('/v1/registrations/{id}', { params: { path: { id } } }));
  const eventually = (c: GelombangClient, id: string, status: string) =>
    waitFor(
      async () => {
        const view = await statusOf(c, id);
        return view.status === status ? view : undefined;
      },
      60_000,
      `${id} ${status}`,
    );
  const caught = async (p: Promise<unknown>): Promise<ApiError> => {
    const e = (await p.then(
      () => undefined,
      (err: unknown) => err,
    )) as ApiError | undefined;
    if (!e) throw new Error('expected a refusal');
    return e;
  };
  const refusal = async (p: Promise<unknown>) => {
    const e = await caught(p);
    return { name: e.name, status: e.status, code: e.code, message: e.message };
  };

  it('takes a person through the funnel: register, confirm the mailed code, correct an unknown NIK, enroll, withdraw', async () => {
    const { client: c, sent } = clientWith();
    const p = newPerson();
    const typo = serialTypo(p.nik, 7);
    await sim.load([{ nik: p.nik, fullName: p.fullName, birthDate: p.birthDate }], [typo]);

    const accepted = await c.ok(c.api.POST('/v1/registrations', { body: { ...p, nik: typo } }));
    expect(accepted.status).toBe('pending_email_verification');
    const id = accepted.registrationId;
    // Before the code, the status is the applicant's only: no session, no answer.
    expect(await refusal(statusOf(c, id))).toMatchObject({ status: 401, code: 'SESSION_REQUIRED' });

    const confirmed = await c.ok(
      c.api.POST('/v1/email-verifications/{registrationId}/confirm', { params: { path: { registrationId: id } }, body: { code: await codeFor(p.email) } }),
    );
    expect(confirmed.status).toBe('verified');
    expect(c.session.registrationId).toBe(id);
    expect(c.session.token).toBe(confirmed.session!.token);

    const rejected = await eventually(c, id, 'nik_rejected');
    expect(rejected).toMatchObject({ reason: 'NIK_NOT_FOUND', nikCorrectable: true, nikAttempt: 1 });
    const corrected = await c.ok(c.api.POST('/v1/registrations/{id}/nik', { params: { path: { id } }, body: { nik: p.nik } }));
    expect(corrected).toEqual({ registrationId: id, status: 'nik_resubmitted', nikAttempt: 2 });
    await eventually(c, id, 'nik_verified');

    const batchId = `client-${randomUUID().slice(0, 8)}`;
    const now = Date.now();
    await c.ok(
      c.api.POST('/v1/admin/batches', {
        headers: { authorization: `Bearer ${adminToken}` },
        body: {
          batchId,
          name: 'Gelombang uji klien',
          quota: 5,
          opensAt: new Date(now - 60_000).toISOString(),
          closesAt: new Date(now + 3_600_000).toISOString(),
        },
      }),
    );
    const open = await c.ok(c.api.GET('/v1/batches'));
    expect(open.batches.find((b) => b.batchId === batchId)).toMatchObject({ status: 'open', seatsLeft: 5 });

    const seat = await c.ok(c.api.POST('/v1/enrollments', { body: { registrationId: id, batchId } }));
    expect(seat).toMatchObject({ registrationId: id, batchId });
    const withdrawn = await c.ok(c.api.DELETE('/v1/enrollments/{registrationId}', { params: { path: { registrationId: id } } }));
    expect(withdrawn).toMatchObject({ registrationId: id, batchId, status: 'withdrawn' });

    // Every POST carried its own Idempotency-Key; every request after the confirm carried the session.
    const posts = sent.filter((s) => s.method === 'POST');
    expect(posts.every((s) => /^[0-9a-f-]{36}$/.test(s.headers.get('idempotency-key') ?? ''))).toBe(true);
    expect(new Set(posts.map((s) => s.headers.get('idempotency-key'))).size).toBe(posts.length);
    const afterConfirm = sent.slice(sent.findIndex((s) => s.path.endsWith('/confirm')) + 1).filter((s) => !s.path.startsWith('/v1/admin'));
    expect(afterConfirm.every((s) => s.headers.get('authorization') === `Bearer ${confirmed.session!.token}`)).toBe(true);
  });

  it('when the answer to a registration is lost, retries with the same Idempotency-Key and gets the same registration back', async () => {
    const { client: c, sent, waits } = clientWith({ lose: (s, n) => n === 1 && s.status === 202 });
    const accepted = await c.ok(c.api.POST('/v1/registrations', { body: newPerson() }));
    expect(sent.map((s) => [s.status, s.replayed])).toEqual([
      [202, null], // accepted; its answer never arrived
      [202, 'true'], // the service recognised the key and replayed the first answer
    ]);
    expect(sent[1]!.headers.get('idempotency-key')).toBe(sent[0]!.headers.get('idempotency-key'));
    expect(waits).toHaveLength(1);
    expect(accepted.status).toBe('pending_email_verification');
  });

  it("when the client's bucket is empty (429), waits at least the Retry-After, with jitter, and then is accepted", async () => {
    const { client: c, sent, waits } = clientWith({ intake: 'tightIntake', retry: { random: () => 0.5 } });
    for (let i = 0; i < 3; i++) await c.ok(c.api.POST('/v1/registrations', { body: newPerson() }));
    const refused = sent.filter((s) => s.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(waits).toHaveLength(refused.length);
    // Each wait at least the Retry-After the refusal named (1 s here), plus the jitter's draw.
    // (attempt 0 of its registration: a jitter window of 250 ms, drawn at 0.5).
    waits.forEach((w) => expect(w).toBeGreaterThanOrEqual(1000 + 125));
    // One key per registration, repeated on each of its retries.
    const keys = sent.map((s) => s.headers.get('idempotency-key'));
    expect(new Set(keys).size).toBe(3);
  });

  it('does not wait out a Retry-After longer than it may (a resend within the cooldown): the coded 429 reaches the caller', async () => {
    const { client: c, sent, waits } = clientWith();
    const p = newPerson();
    const { registrationId } = await c.ok(c.api.POST('/v1/registrations', { body: p }));
    await codeFor(p.email);
    const e = await refusal(c.ok(c.api.POST('/v1/email-verifications/{registrationId}/resend', { params: { path: { registrationId } } })));
    expect(e).toMatchObject({ name: 'ApiError', status: 429, code: 'EMAIL_RESEND_TOO_SOON' });
    expect(sent.filter((s) => s.path.endsWith('/resend'))).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('says what went wrong in the language the applicant chose (Accept-Language), per field too', async () => {
    const bad = { ...newPerson(), nik: '123' };
    const id = createGelombangClient({ baseUrl: origins.intake });
    const inId = await caught(id.ok(id.api.POST('/v1/registrations', { body: bad })));
    const en = createGelombangClient({ baseUrl: origins.intake, lang: 'en' });
    const inEn = await caught(en.ok(en.api.POST('/v1/registrations', { body: bad })));
    expect([inId.code, inId.message]).toEqual(['VALIDATION_FAILED', 'Data yang dikirim tidak valid. Periksa kolom yang disebutkan.']);
    expect([inEn.code, inEn.message]).toEqual(['VALIDATION_FAILED', 'The submitted data is invalid. Check the listed fields.']);
    expect(inId.fieldMessage('nik')).toBeTruthy();
    expect(inEn.fieldMessage('nik')).toBeTruthy();
    expect(inEn.fieldMessage('nik')).not.toBe(inId.fieldMessage('nik'));
  });

  it("another applicant's session does not read a registration (403), and a network failure is a coded error in the chosen language", async () => {
    const { client: mine } = clientWith();
    const p = newPerson();
    const { registrationId } = await mine.ok(mine.api.POST('/v1/registrations', { body: p }));
    await mine.ok(
      mine.api.POST('/v1/email-verifications/{registrationId}/confirm', { params: { path: { registrationId } }, body: { code: await codeFor(p.email) } }),
    );
    const { client: stranger } = clientWith({ lang: 'en' });
    expect((await statusOf(mine, registrationId)).registrationId).toBe(registrationId);
    // The stranger holds a session of its own registration, not this one.
    const q = newPerson();
    const theirs = await stranger.ok(stranger.api.POST('/v1/registrations', { body: q }));
    await stranger.ok(
      stranger.api.POST('/v1/email-verifications/{registrationId}/confirm', {
        params: { path: { registrationId: theirs.registrationId } },
        body: { code: await codeFor(q.email) },
      }),
    );
    expect(await refusal(statusOf(stranger, registrationId))).toMatchObject({ status: 403, code: 'SESSION_FORBIDDEN' });

    const waits: number[] = [];
    const down = createGelombangClient({ baseUrl: 'http://127.0.0.1:9', lang: 'en', retry: { retries: 2, sleep: async (ms) => void waits.push(ms) } });
    expect(await refusal(statusOf(down, registrationId))).toEqual({
      name: 'ApiError',
      status: 0,
      code: 'CLIENT_NETWORK_ERROR',
      message: 'Could not reach the server. Check your internet connection and try again.',
    });
    expect(waits).toHaveLength(2); // a GET is idempotent: retried, then given up
  });
});
