import pg from 'pg';
import { SESSION_COOKIE, type App } from '@gelombang/platform';
import { capturedLogs, DATABASE_URL, dropSchema, startMailDev, waitFor, type MailDev } from '@gelombang/testkit';
import {
  buildTestApp,
  codeOf,
  jwtClaims,
  metric,
  person,
  SubmittedPublisher,
  submittedEvent,
  testEnv,
  type Person,
  type TestEnv,
  mailsTo,
} from './helpers/build-test-app';

/** Every address, code and token the tests used, to prove none reached a log line. */
const secrets = new Set<string>();

const MAX_AGE_SEC = 4;
const CODE_TTL_SEC = 5;
const SIGN_IN_SUBJECT = 'Kode masuk Kartu Prakerja';

describe('applicant sessions: confirm, sign-in by mail, refresh, sign-out (real Kafka, PostgreSQL, Redis, MailDev)', () => {
  let maildev: MailDev;
  let t: TestEnv;
  let app: App;
  let publisher: SubmittedPublisher;
  let db: pg.Client;

  beforeAll(async () => {
    maildev = await startMailDev();
    t = testEnv({
      MAIL_SMTP_URL: maildev.smtpUrl,
      MAIL_POLL_MS: '100',
      EMAIL_RESEND_COOLDOWN_SEC: '1',
      EMAIL_CODE_TTL_SEC: String(CODE_TTL_SEC),
      EMAIL_SIGNIN_MAX_SENDS: '2',
      EMAIL_SIGNIN_MAX_ATTEMPTS: '3',
      SESSION_MAX_AGE_SEC: String(MAX_AGE_SEC),
      SIGNIN_RATE_LIMIT_BURST: '20',
      SIGNIN_RATE_LIMIT_PER_SEC: '0.01',
    });
    [app, publisher] = await Promise.all([buildTestApp(t), new SubmittedPublisher().connect()]);
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await app?.close();
    await Promise.allSettled([publisher?.close(), maildev?.stop(), db?.end()]);
    if (t) await dropSchema(t.schema);
  });

  /** Each call from its own client IP: the sign-in guard is tested on its own, below. */
  let ips = 0;
  const nextIp = () => `10.77.${Math.floor(++ips / 250)}.${ips % 250}`;
  const requestCode = (email: string, remoteAddress = nextIp()) => app.inject({ method: 'POST', url: '/v1/sessions', payload: { email }, remoteAddress });
  const verify = (email: string, code: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/sessions/verify', payload: { email, code }, headers, remoteAddress: nextIp() });
  const refresh = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/v1/sessions/refresh', headers });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

  const mails = (address: string, count = 1) => mailsTo(maildev, address, count);
  const signInMails = async (address: string) => (await maildev.emailsTo(address)).filter((m) => m.subject === SIGN_IN_SUBJECT);
  /** The code of the `n`-th sign-in mail to `address`. */
  async function signInCode(address: string, n = 1): Promise<string> {
    const mail = await waitFor(async () => (await signInMails(address))[n - 1], 20_000, `sign-in mail ${n}`);
    expect(mail.subject).not.toMatch(/\d{6}/);
    const code = codeOf(mail);
    secrets.add(code);
    return code;
  }
  /** Waits until the mail sender decided every sign-in request for `address` (mailed or dropped). */
  const decided = (address: string) =>
    waitFor(
      async () => {
        const r = await db.query(`SELECT mail_due_at FROM ${t.schema}.sign_ins WHERE email_index = $1`, [t.cipher.blindIndex('email', address)]);
        return r.rows[0] && r.rows[0].mail_due_at === null ? true : undefined;
      },
      10_000,
      'the sign-in request decided',
    );

  /** A registration whose verification mail arrived (not confirmed). */
  async function registered(p: Person = person()): Promise<{ id: string; p: Person; code: string }> {
    secrets.add(p.email);
    const e = submittedEvent(t.cipher, p);
    await publisher.publish(e);
    const [mail] = await mails(p.email, 1);
    const code = codeOf(mail!);
    secrets.add(code);
    return { id: e.data.registrationId, p, code };
  }
  /** A confirmed registration, and the session the confirm answered with. */
  async function verified(): Promise<{ id: string; p: Person; token: string; cookie: string }> {
    const r = await registered();
    const res = await app.inject({ method: 'POST', url: `/v1/email-verifications/${r.id}/confirm`, payload: { code: r.code } });
    expect(res.statusCode).toBe(200);
    const token = res.json().session.token as string;
    secrets.add(token);
    return { id: r.id, p: r.p, token, cookie: `${SESSION_COOKIE}=${res.cookies.find((c) => c.name === SESSION_COOKIE)!.value}` };
  }

  it('the session from confirm opens the applicant-only refresh, by cookie or by header, and its subject is the registration', async () => {
    const { id, token, cookie } = await verified();
    const claims = jwtClaims(token);
    expect(claims).toMatchObject({ sub: id, iss: 'gelombang', aud: 'gelombang-applicant', auth_time: expect.any(Number) });
    // A second later, so the new token differs from the old one (its iat and exp are later).
    await new Promise((r) => setTimeout(r, 1_100));
    for (const headers of [{ cookie }, bearer(token)]) {
      const res = await refresh(headers);
      expect([res.statusCode, res.json()]).toEqual([200, { registrationId: id, session: { token: expect.any(String), expiresAt: expect.any(String) } }]);
      const fresh = res.json().session;
      secrets.add(fresh.token);
      expect(fresh.token).not.toBe(token);
      expect(jwtClaims(fresh.token)).toMatchObject({ sub: id, auth_time: claims.auth_time });
      expect(Number(jwtClaims(fresh.token).exp)).toBeGreaterThan(Number(claims.exp));
      expect(Date.parse(fresh.expiresAt)).toBe(Number(jwtClaims(fresh.token).exp) * 1000);
      expect(res.cookies).toEqual([expect.objectContaining({ name: SESSION_COOKIE, value: fresh.token, httpOnly: true, secure: true, sameSite: 'Strict' })]);
    }
  });

  it('refreshes keeping auth_time, until SESSION_MAX_AGE_SEC after the code was proved: then 401 SESSION_EXPIRED (sign in again)', async () => {
    const { token } = await verified();
    const authTime = Number(jwtClaims(token).auth_time) * 1000;
    const once = await refresh(bearer(token));
    expect(once.statusCode).toBe(200);
    const refreshed = once.json().session.token as string;
    secrets.add(refreshed);
    expect(jwtClaims(refreshed).auth_time).toBe(jwtClaims(token).auth_time);

    // Both tokens are still unexpired (SESSION_TTL_SEC 900), but the proof behind them is too old now.
    await new Promise((r) => setTimeout(r, Math.max(0, authTime + MAX_AGE_SEC * 1000 + 1_100 - Date.now())));
    for (const t of [token, refreshed]) {
      const late = await refresh({ ...bearer(t), 'accept-language': 'en' });
      expect([late.statusCode, late.json().code, late.headers['www-authenticate']]).toEqual([401, 'SESSION_EXPIRED', 'Bearer realm="gelombang"']);
      expect(late.headers['set-cookie']).toBeUndefined();
    }

    for (const headers of [{}, bearer('not-a-token'), { cookie: `${SESSION_COOKIE}=nonsense` }] as Record<string, string>[]) {
      const none = await refresh(headers);
      expect([none.statusCode, none.json().code]).toEqual([401, 'SESSION_REQUIRED']);
    }
  });

  it('mails a verified address a sign-in code (in the body only); the code signs in once, with a session for its registration', async () => {
    const { id, p } = await verified();
    const asked = await requestCode(`  ${p.email.toUpperCase()} `);
    expect([asked.statusCode, asked.json()]).toEqual([202, { status: 'code_sent_if_registered' }]);
    const code = await signInCode(p.email);
    const [mail] = await signInMails(p.email);
    expect(mail!.text).toContain(`Kode untuk masuk ke pendaftaran Kartu Prakerja Anda: ${code}`);
    expect(mail!.text).toContain(`The sign-in code for your Kartu Prakerja registration: ${code}`);

    const before = Math.floor(Date.now() / 1000);
    const ok = await verify(p.email, code);
    expect([ok.statusCode, ok.json()]).toEqual([200, { registrationId: id, session: { token: expect.any(String), expiresAt: expect.any(String) } }]);
    const token = ok.json().session.token as string;
    secrets.add(token);
    expect(jwtClaims(token)).toMatchObject({ sub: id });
    expect(Number(jwtClaims(token).auth_time)).toBeGreaterThanOrEqual(before);
    expect(ok.cookies).toEqual([expect.objectContaining({ name: SESSION_COOKIE, value: token, httpOnly: true, secure: true, sameSite: 'Strict', path: '/' })]);
    expect((await refresh(bearer(token))).statusCode).toBe(200);

    const again = await verify(p.email, code);
    expect([again.statusCode, again.json().code]).toEqual([400, 'EMAIL_SIGNIN_CODE_INVALID']);
    expect(
      await db.query(`SELECT code_hmac, registration_id FROM ${t.schema}.sign_ins WHERE email_index = $1`, [t.cipher.blindIndex('email', p.email)]),
    ).toMatchObject({ rows: [{ code_hmac: null, registration_id: id }] });
  });

  it('answers an unknown, an unverified and a verified address with byte-identical 202s, and mails only the verified one', async () => {
    const known = await verified();
    const unverified = await registered();
    const unknown = person().email;
    secrets.add(unknown);
    const answers = [await requestCode(unknown), await requestCode(unverified.p.email), await requestCode(known.p.email)];
    const shape = (r: (typeof answers)[number]) => [r.statusCode, r.headers['content-type'], r.headers['content-length'], r.headers['set-cookie'], r.body];
    expect(shape(answers[0]!)).toEqual(shape(answers[2]!));
    expect(shape(answers[1]!)).toEqual(shape(answers[2]!));
    expect(answers[0]!.body).toBe('{"status":"code_sent_if_registered"}');

    await signInCode(known.p.email);
    await Promise.all([decided(unknown), decided(unverified.p.email)]);
    expect(await maildev.emailsTo(unknown)).toEqual([]);
    // The unverified address has its verification mail and nothing else.
    expect((await maildev.emailsTo(unverified.p.email)).map((m) => m.subject)).toEqual(['Kode verifikasi email Kartu Prakerja']);
    expect(await metric(app, 'email_sign_in_requests_total', 'outcome="not_verified"')).toBeGreaterThanOrEqual(2);
  });

  it('answers a wrong code, an expired one, none asked for and an unknown address with the same 400; the attempt limit counts unknown addresses too', async () => {
    const { p } = await verified();
    const idle = await verified();
    const unknown = person().email;
    secrets.add(unknown);
    await requestCode(p.email);
    const code = await signInCode(p.email);

    const wrong = await verify(p.email, wrongCode(code), { 'accept-language': 'en' });
    const stranger = await verify(unknown, code, { 'accept-language': 'en' });
    const noCodeAsked = await verify(idle.p.email, code, { 'accept-language': 'en' });
    for (const r of [wrong, stranger, noCodeAsked]) {
      expect([r.statusCode, r.headers['content-length'], r.headers['set-cookie'], r.body]).toEqual([
        400,
        wrong.headers['content-length'],
        undefined,
        wrong.body,
      ]);
    }
    expect(wrong.json()).toEqual({
      code: 'EMAIL_SIGNIN_CODE_INVALID',
      message: 'The sign-in code is wrong or has expired. Check the email address and the code, or ask for a new one.',
    });

    // EMAIL_SIGNIN_MAX_ATTEMPTS = 3: the third wrong try answers 429, for the known address and the unknown one alike.
    for (const email of [p.email, unknown]) {
      expect((await verify(email, wrongCode(code))).statusCode).toBe(400);
      const third = await verify(email, wrongCode(code));
      expect([third.statusCode, third.json().code]).toEqual([429, 'EMAIL_SIGNIN_ATTEMPTS_EXHAUSTED']);
      expect(Number(third.headers['retry-after'])).toBeGreaterThan(86_000);
    }
    // Exhausted: even the right code is refused until the window ends.
    const right = await verify(p.email, code);
    expect([right.statusCode, right.json().code]).toEqual([429, 'EMAIL_SIGNIN_ATTEMPTS_EXHAUSTED']);

    // An expired code answers the same 400 as a wrong one (another address: this one is exhausted).
    const late = await verified();
    await requestCode(late.p.email);
    const lateCode = await signInCode(late.p.email);
    await new Promise((r) => setTimeout(r, CODE_TTL_SEC * 1000 + 200));
    const expired = await verify(late.p.email, lateCode, { 'accept-language': 'en' });
    expect([expired.statusCode, expired.body]).toEqual([400, wrong.body]);
  });

  it('mails an address at most EMAIL_SIGNIN_MAX_SENDS sign-in codes a window, EMAIL_RESEND_COOLDOWN_SEC apart, answering 202 every time', async () => {
    const { p } = await verified();
    expect((await requestCode(p.email)).statusCode).toBe(202);
    const first = await signInCode(p.email, 1);
    await decided(p.email);
    // Within the cooldown: dropped, the code out stays the one.
    expect((await requestCode(p.email)).statusCode).toBe(202);
    await decided(p.email);
    expect(await signInMails(p.email)).toHaveLength(1);

    await new Promise((r) => setTimeout(r, 1_100));
    expect((await requestCode(p.email)).statusCode).toBe(202);
    const second = await signInCode(p.email, 2);
    await decided(p.email);
    // A new code replaced the first one.
    if (second !== first) expect((await verify(p.email, first)).statusCode).toBe(400);

    await new Promise((r) => setTimeout(r, 1_100));
    expect((await requestCode(p.email)).statusCode).toBe(202);
    await decided(p.email);
    await new Promise((r) => setTimeout(r, 300));
    expect(await signInMails(p.email)).toHaveLength(2);
    expect((await verify(p.email, second)).statusCode).toBe(200);
  });

  it('signs out with 204 and a cookie that ends the session cookie; the token itself stays valid until it expires (stateless)', async () => {
    const { token, cookie } = await verified();
    for (const headers of [{ cookie }, {}]) {
      const out = await app.inject({ method: 'DELETE', url: '/v1/sessions', headers });
      expect([out.statusCode, out.body]).toEqual([204, '']);
      expect(out.cookies).toEqual([
        expect.objectContaining({ name: SESSION_COOKIE, value: '', maxAge: 0, path: '/', httpOnly: true, secure: true, sameSite: 'Strict' }),
      ]);
    }
    expect((await refresh(bearer(token))).statusCode).toBe(200);
  });

  it('limits sign-in requests and codes per client IP together (429 RATE_LIMITED with Retry-After)', async () => {
    const unknown = person().email;
    const ip = '10.78.0.1';
    for (let i = 0; i < 10; i++) {
      expect((await requestCode(unknown, ip)).statusCode).toBe(202);
      const tried = await app.inject({ method: 'POST', url: '/v1/sessions/verify', payload: { email: unknown, code: '000000' }, remoteAddress: ip });
      // 400, then the address's own limit (429 EMAIL_SIGNIN_ATTEMPTS_EXHAUSTED): not yet the IP's.
      expect(tried.json().code).not.toBe('RATE_LIMITED');
    }
    const limited = await requestCode(unknown, ip);
    expect([limited.statusCode, limited.json().code, Number(limited.headers['retry-after']) > 0]).toEqual([429, 'RATE_LIMITED', true]);
    expect((await requestCode(unknown, '10.78.0.2')).statusCode).toBe(202);
  });

  it('says in OpenAPI who may call each route, and lists 401 where a session is needed', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json();
    const routes: Array<[string, string]> = [
      ['/v1/email-verifications/{registrationId}', 'get'],
      ['/v1/email-verifications/{registrationId}/confirm', 'post'],
      ['/v1/email-verifications/{registrationId}/resend', 'post'],
      ['/v1/sessions', 'post'],
      ['/v1/sessions/verify', 'post'],
      ['/v1/sessions/refresh', 'post'],
      ['/v1/sessions', 'delete'],
    ];
    for (const [path, method] of routes)
      expect({ path, method, who: doc.paths[path]?.[method]?.description }).toEqual({ path, method, who: expect.stringMatching(/^Who may call: /) });
    // Refresh acts on the session's own registration: 401 without one, never 403.
    expect(Object.keys(doc.paths['/v1/sessions/refresh'].post.responses)).toEqual(expect.arrayContaining(['200', '401']));
    expect(Object.keys(doc.paths['/v1/sessions/refresh'].post.responses)).not.toContain('403');
    expect(doc.paths['/v1/sessions/refresh'].post.security).toEqual([{ applicantBearer: [] }, { applicantCookie: [] }]);
    expect(Object.keys(doc.paths['/v1/sessions'].post.responses)).not.toContain('401');
    expect(doc.paths['/v1/sessions'].post.security).toEqual([]);
  });

  it('never wrote an address, code or token to a log line', () => {
    const logs = capturedLogs.join('');
    expect(logs).toContain('sign-in mail sent');
    for (const v of secrets) {
      if (/^\d{6}$/.test(v)) expect(logs).not.toMatch(new RegExp(`(?<![\\d.])${v}(?![\\d])`));
      else expect(logs.toLowerCase()).not.toContain(v.toLowerCase());
    }
  });
});
