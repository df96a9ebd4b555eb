import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  EMAIL_VERIFICATION_REQUESTED_V1,
  EMAIL_VERIFIED_V1,
  emailVerificationRequestedV1,
  emailVerifiedV1,
  NIK_VERIFICATION_REQUESTED_V1,
  nikVerificationRequestedV1,
  REGISTRATION_STATUS_CHANGED_V1,
  registrationStatusChangedV1,
} from '@gelombang/contracts';
import { SESSION_COOKIE, type App } from '@gelombang/platform';
import { capturedLogs, DATABASE_URL, dropSchema, startMailDev, TopicTap, waitFor, type MailDev } from '@gelombang/testkit';
import type { OutgoingMail } from '../src/data-access/smtp-mailer';
import { noticeMail } from '../src/domain/mail-content';
import {
  buildTestApp,
  codeOf,
  jwtClaims,
  metric,
  person,
  SubmittedPublisher,
  statusEvent,
  submittedEvent,
  testEnv,
  type Person,
  type TestEnv,
  mailsTo,
} from './helpers/build-test-app';

/** Every personal value and code the tests used, to prove none reached a log line. */
const secrets = new Set<string>();

/** What a test does at the moment a mail to one address goes out; `send` is the real SMTP send to MailDev. */
type Interceptor = (mail: OutgoingMail, send: () => Promise<void>) => Promise<void>;
const interceptors = new Map<string, Interceptor>();

/** An SMTP error after DATA: the provider may have delivered the mail all the same. */
const smtpErrorAfterData = () => Object.assign(new Error('connection closed after DATA'), { code: 'ECONNECTION', command: 'DATA' });

describe('email verification (real Kafka, PostgreSQL, Redis, MailDev)', () => {
  let maildev: MailDev;
  let t: TestEnv;
  let app: App;
  let publisher: SubmittedPublisher;
  let tap: TopicTap;
  let db: pg.Client;

  beforeAll(async () => {
    maildev = await startMailDev();
    t = testEnv({
      MAIL_SMTP_URL: maildev.smtpUrl,
      EMAIL_RESEND_COOLDOWN_SEC: '1',
      EMAIL_MAX_SENDS: '3',
      CONFIRM_RATE_LIMIT_BURST: '30',
      CONFIRM_RATE_LIMIT_PER_SEC: '0.01',
      MAIL_POLL_MS: '100',
      // A failed send is retried 2 s later: time to confirm or resend in between.
      MAIL_RETRY_BASE_MS: '2000',
    });
    [app, publisher, tap] = await Promise.all([
      buildTestApp(t, {
        wrapMailer: (smtp) => ({
          send: (mail) => {
            const intercept = interceptors.get(mail.to);
            return intercept ? intercept(mail, () => smtp.send(mail)) : smtp.send(mail);
          },
          close: () => smtp.close(),
        }),
      }),
      new SubmittedPublisher().connect(),
      new TopicTap([EMAIL_VERIFICATION_REQUESTED_V1, EMAIL_VERIFIED_V1, REGISTRATION_STATUS_CHANGED_V1, NIK_VERIFICATION_REQUESTED_V1]).start(),
    ]);
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await app?.close();
    await Promise.allSettled([publisher?.close(), tap?.stop(), maildev?.stop(), db?.end()]);
    if (t) await dropSchema(t.schema);
  });

  /** Publishes a registration for `p` and returns its id; `intercept` acts on its mails as they go out. */
  async function register(p: Person = person(), intercept?: (id: string) => Interceptor): Promise<{ id: string; p: Person }> {
    for (const v of [p.email, p.nik, p.fullName]) secrets.add(v);
    const e = submittedEvent(t.cipher, p);
    if (intercept) interceptors.set(p.email, intercept(e.data.registrationId));
    await publisher.publish(e);
    return { id: e.data.registrationId, p };
  }
  const mails = (address: string, count = 1) => mailsTo(maildev, address, count);
  async function latestCode(address: string, count = 1): Promise<string> {
    const found = await mails(address, count);
    const code = codeOf(found[found.length - 1]!);
    secrets.add(code);
    return code;
  }
  const get = (id: string) => app.inject({ method: 'GET', url: `/v1/email-verifications/${id}` });
  /** `remoteAddress`: a test that confirms many times comes from its own IP, leaving the suite's shared guard bucket alone. */
  const confirm = (id: string, code: string, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') =>
    app.inject({ method: 'POST', url: `/v1/email-verifications/${id}/confirm`, payload: { code }, headers, remoteAddress });
  const resend = (id: string) => app.inject({ method: 'POST', url: `/v1/email-verifications/${id}/resend` });
  const sentState = async (id: string) =>
    waitFor<{ status: 'sent'; emailMasked: string; sentAt: string; expiresAt: string; attemptsLeft: number; resendAvailableAt: string }>(
      async () => {
        const r = await get(id);
        return r.statusCode === 200 && r.json().status === 'sent' ? r.json() : undefined;
      },
      20_000,
      'status sent',
    );
  /** Once the new code's mail is out, the superseded code (if it differs) is wrong and the new one confirms. */
  const onlyNewCodeConfirms = async (id: string, superseded: string, fresh: string) => {
    await sentState(id);
    if (fresh !== superseded) {
      const stale = await confirm(id, superseded);
      expect([stale.statusCode, stale.json().code, stale.json().attemptsLeft]).toEqual([400, 'EMAIL_CODE_INVALID', 4]);
    }
    expect((await confirm(id, fresh)).statusCode).toBe(200);
  };
  const row = async (id: string) => (await db.query(`SELECT * FROM ${t.schema}.verifications WHERE registration_id = $1`, [id])).rows[0];
  const failuresRecorded = (id: string, n: number) =>
    waitFor(async () => ((await row(id)).mail_failures === n ? true : undefined), 10_000, `${n} failed send(s) recorded`);
  const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

  it('mails a bilingual code, confirms it, and hands the applicant to the NIK check with three events', async () => {
    const { id, p } = await register();
    const [mail] = await mails(p.email);
    const code = await latestCode(p.email);
    // The subject says what the mail is; the code is only in the body (a subject shows on a locked phone).
    expect(mail!.subject).toBe('Kode verifikasi email Kartu Prakerja');
    expect(mail!.subject).not.toMatch(/\d{6}/);
    expect(mail!.text).toContain(`Kode verifikasi email untuk pendaftaran Kartu Prakerja Anda: ${code}\n`);
    expect(mail!.text).toContain(`The email verification code for your Kartu Prakerja registration: ${code}\n`);
    expect(mail!.text!.indexOf('Kode verifikasi email')).toBeLessThan(mail!.text!.indexOf('verification code'));
    expect(mail!.text).not.toContain(p.nik);
    expect(mail!.text).not.toContain(p.fullName);

    const view = await sentState(id);
    expect(view).toEqual({
      registrationId: id,
      status: 'sent',
      emailMasked: expect.stringMatching(/^s\*\*\*.@example\.co\.id$/),
      sentAt: expect.any(String),
      expiresAt: expect.any(String),
      attemptsLeft: 5,
      resendAvailableAt: expect.any(String),
    });
    expect(Date.parse(view.expiresAt) - Date.parse(view.sentAt)).toBe(900_000);
    const [requested] = await tap.waitFor(EMAIL_VERIFICATION_REQUESTED_V1, { key: id });
    expect(emailVerificationRequestedV1.parse(requested).data).toEqual({
      registrationId: id,
      emailMasked: view.emailMasked,
      sendCount: 1,
      sentAt: view.sentAt,
      expiresAt: view.expiresAt,
    });
    expect(JSON.stringify(requested)).not.toContain(p.email);

    const ok = await confirm(id, code);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({
      registrationId: id,
      status: 'verified',
      verifiedAt: expect.any(String),
      session: { token: expect.any(String), expiresAt: expect.any(String) },
    });
    const { session, ...verifiedBody } = ok.json();
    secrets.add(session.token);
    expect(ok.cookies).toEqual([
      expect.objectContaining({ name: SESSION_COOKIE, value: session.token, httpOnly: true, secure: true, sameSite: 'Strict', path: '/' }),
    ]);
    expect(jwtClaims(session.token)).toMatchObject({ sub: id, auth_time: Math.floor(Date.parse(verifiedBody.verifiedAt) / 1000) });
    expect(Date.parse(session.expiresAt) - Date.parse(verifiedBody.verifiedAt)).toBeGreaterThanOrEqual(899_000);
    expect(await app.sessions.check(session.token)).toMatchObject({ ok: true, session: { registrationId: id } });
    // A replay: the same 200, but no session (the code is gone; the applicant signs in instead).
    const again = await confirm(id, code);
    expect([again.statusCode, again.json(), again.headers['set-cookie']]).toEqual([200, verifiedBody, undefined]);
    expect((await get(id)).json()).toMatchObject({ status: 'verified', attemptsLeft: 0, expiresAt: null, resendAvailableAt: null });

    const [verified] = await tap.waitFor(EMAIL_VERIFIED_V1, { key: id });
    expect(emailVerifiedV1.parse(verified).data).toEqual({ registrationId: id, verifiedAt: ok.json().verifiedAt });
    // The first status event is the intake projector's verdict (published here by the test in its place).
    const status = (await tap.waitFor(REGISTRATION_STATUS_CHANGED_V1, { key: id, count: 2 })).find((e) => e.data.status !== 'pending_email_verification');
    expect(registrationStatusChangedV1.parse(status).data).toEqual({ registrationId: id, status: 'email_verified', changedAt: ok.json().verifiedAt });
    const [nikReq] = await tap.waitFor(NIK_VERIFICATION_REQUESTED_V1, { key: id });
    const nik = nikVerificationRequestedV1.parse(nikReq);
    expect(nik.data).toMatchObject({ registrationId: id, attempt: 1, nikIndex: t.cipher.blindIndex('nik', p.nik), provinceCode: p.nik.slice(0, 2) });
    expect(t.cipher.decrypt(nik.data.pii.nik, 'nik')).toBe(p.nik);
    expect(t.cipher.decrypt(nik.data.pii.fullName, 'fullName')).toBe(p.fullName);
    expect(t.cipher.decrypt(nik.data.pii.birthDate, 'birthDate')).toBe(p.birthDate);
    for (const v of [p.nik, p.email, p.fullName, p.birthDate]) expect(JSON.stringify(tap.messages.filter((m) => m.key === id))).not.toContain(v);
    // Exactly once each: the confirm replay wrote nothing (besides the projector's verdict, published by the test).
    await new Promise((r) => setTimeout(r, 300));
    expect(
      tap.messages
        .filter((m) => m.key === id)
        .map((m) => m.topic)
        .sort(),
    ).toEqual(
      [
        EMAIL_VERIFICATION_REQUESTED_V1,
        EMAIL_VERIFIED_V1,
        NIK_VERIFICATION_REQUESTED_V1,
        REGISTRATION_STATUS_CHANGED_V1,
        REGISTRATION_STATUS_CHANGED_V1,
      ].sort(),
    );

    const late = await resend(id);
    expect([late.statusCode, late.json().code]).toEqual([409, 'EMAIL_ALREADY_VERIFIED']);
  });

  it('counts wrong codes (400 with attemptsLeft), locks the code with 423 after five, and a resend mails a new one that works', async () => {
    const { id, p } = await register();
    const code = await latestCode(p.email);
    await sentState(id);
    for (const left of [4, 3, 2, 1]) {
      const r = await confirm(id, wrongCode(code), { 'accept-language': 'en' });
      expect([r.statusCode, r.json()]).toEqual([400, { code: 'EMAIL_CODE_INVALID', message: 'The verification code is wrong.', attemptsLeft: left }]);
    }
    const fifth = await confirm(id, wrongCode(code));
    expect([fifth.statusCode, fifth.json().code, fifth.json().attemptsLeft]).toEqual([423, 'EMAIL_CODE_LOCKED', 0]);
    const right = await confirm(id, code);
    expect([right.statusCode, right.json().code]).toEqual([423, 'EMAIL_CODE_LOCKED']);
    expect((await get(id)).json()).toMatchObject({ status: 'locked', attemptsLeft: 0 });

    await waitFor(async () => ((await resend(id)).statusCode === 202 ? true : undefined), 5_000, 'resend after the cooldown');
    const pending = await get(id);
    expect(pending.json().status).toMatch(/^(pending|sent)$/);
    await onlyNewCodeConfirms(id, code, await latestCode(p.email, 2));
    const row = (await db.query(`SELECT send_count, code_hmac, verified_at FROM ${t.schema}.verifications WHERE registration_id = $1`, [id])).rows[0];
    expect(row).toMatchObject({ send_count: 2, code_hmac: null, verified_at: expect.any(Date) });
  });

  it('counts codes tried per registration across resends: past EMAIL_MAX_CODE_SUBMISSIONS (10) confirm answers 429 until the window ends', async () => {
    const { id, p } = await register();
    const ip = `10.200.${Math.floor(Math.random() * 250)}.1`;
    const guess = (code: string, headers: Record<string, string> = {}) => confirm(id, code, headers, ip);
    const first = await latestCode(p.email);
    await sentState(id);
    for (let i = 0; i < 5; i++) await guess(wrongCode(first));
    expect((await get(id)).json()).toMatchObject({ status: 'locked', attemptsLeft: 0 });

    // A resend gives the new code its five attempts, but the registration has only five tries left in all.
    await waitFor(async () => ((await resend(id)).statusCode === 202 ? true : undefined), 5_000, 'resend after the cooldown');
    const second = await latestCode(p.email, 2);
    expect((await sentState(id)).attemptsLeft).toBe(5);
    for (const left of [4, 3, 2, 1]) {
      const r = await guess(wrongCode(second));
      expect([r.statusCode, r.json().code, r.json().attemptsLeft]).toEqual([400, 'EMAIL_CODE_INVALID', left]);
    }
    const tenth = await guess(wrongCode(second), { 'accept-language': 'en' });
    expect([tenth.statusCode, tenth.json()]).toEqual([
      429,
      {
        code: 'EMAIL_CODE_SUBMISSIONS_EXHAUSTED',
        message: 'Too many codes were tried for this registration. Try again after the time given in Retry-After.',
        attemptsLeft: 0,
      },
    ]);
    expect(Number(tenth.headers['retry-after'])).toBeGreaterThan(86_000);
    expect(Number(tenth.headers['retry-after'])).toBeLessThanOrEqual(86_400);
    const right = await guess(second);
    expect([right.statusCode, right.json().code]).toEqual([429, 'EMAIL_CODE_SUBMISSIONS_EXHAUSTED']);

    // Nor can a resend help now: no mail is spent on a code that could not be tried before the window ends.
    await new Promise((r) => setTimeout(r, 1_100));
    const more = await resend(id);
    expect([more.statusCode, more.json().code]).toEqual([429, 'EMAIL_CODE_SUBMISSIONS_EXHAUSTED']);
    expect(Number(more.headers['retry-after'])).toBeGreaterThan(86_000);
    expect((await get(id)).json()).toMatchObject({ attemptsLeft: 0, resendAvailableAt: expect.any(String) });
    expect(Date.parse((await get(id)).json().resendAvailableAt) - Date.now()).toBeGreaterThan(86_000_000);
    expect(await row(id)).toMatchObject({ window_submissions: 10, verified_at: null, send_count: 2 });
    expect(await maildev.emailsTo(p.email)).toHaveLength(2);
  });

  it('answers 429 with Retry-After to a resend within the cooldown, and once EMAIL_MAX_SENDS mails went out', async () => {
    const { id, p } = await register();
    await latestCode(p.email);
    await sentState(id);
    const soon = await resend(id);
    expect([soon.statusCode, soon.json().code, soon.headers['retry-after']]).toEqual([429, 'EMAIL_RESEND_TOO_SOON', '1']);
    for (const n of [2, 3]) {
      await waitFor(async () => ((await resend(id)).statusCode === 202 ? true : undefined), 5_000, 'resend after the cooldown');
      await latestCode(p.email, n);
      await sentState(id);
    }
    await new Promise((r) => setTimeout(r, 1_100));
    const limit = await resend(id);
    expect([limit.statusCode, limit.json().code]).toEqual([429, 'EMAIL_RESEND_LIMIT_REACHED']);
    expect(Number(limit.headers['retry-after'])).toBeGreaterThan(86_000);
    expect((await get(id)).json().resendAvailableAt).toEqual(expect.any(String));
    expect(await maildev.emailsTo(p.email)).toHaveLength(3);
  });

  it('accepts a code confirmed the moment its mail reaches the provider, before the sender recorded the mail as sent', async () => {
    let during: { statusCode: number; body: unknown } | undefined;
    const { id, p } = await register(person(), (id) => async (mail, send) => {
      await send();
      // The provider has the mail and the applicant reads it at once: markSent has not run yet.
      const code = codeOf(mail);
      secrets.add(code);
      const r = await confirm(id, code);
      during = { statusCode: r.statusCode, body: r.json() };
    });
    const [mail] = await mails(p.email);
    await waitFor(async () => (during ? true : undefined), 10_000, 'the confirm from inside the send');
    expect(during).toEqual({
      statusCode: 200,
      body: { registrationId: id, status: 'verified', verifiedAt: expect.any(String), session: { token: expect.any(String), expiresAt: expect.any(String) } },
    });

    // markSent still records and announces the mail; no code is left and nothing is owed.
    const [requested] = await tap.waitFor(EMAIL_VERIFICATION_REQUESTED_V1, { key: id });
    expect(emailVerificationRequestedV1.parse(requested).data.sendCount).toBe(1);
    await tap.waitFor(EMAIL_VERIFIED_V1, { key: id });
    expect(await row(id)).toMatchObject({
      send_count: 1,
      verified_at: expect.any(Date),
      code_hmac: null,
      pending_code_hmac: null,
      pending_expires_at: null,
      mail_due_at: null,
      claim_token: null,
    });
    const again = await confirm(id, codeOf(mail!));
    expect([again.statusCode, again.json().status]).toEqual([200, 'verified']);
    expect((await get(id)).json().status).toBe('verified');
  });

  it('keeps the code of a mail whose SMTP send failed after DATA acceptable, under the same attempt limit', async () => {
    // a) The send fails after the provider got the mail; the applicant confirms before the retry.
    const { id, p } = await register(person(), () => async (_mail, send) => {
      await send();
      throw smtpErrorAfterData();
    });
    const code = await latestCode(p.email);
    await failuresRecorded(id, 1);
    expect((await get(id)).json()).toMatchObject({ status: 'pending', sentAt: null, attemptsLeft: 0 });
    const wrong = await confirm(id, wrongCode(code));
    expect([wrong.statusCode, wrong.json().code, wrong.json().attemptsLeft]).toEqual([400, 'EMAIL_CODE_INVALID', 4]);
    const ok = await confirm(id, code);
    expect([ok.statusCode, ok.json().status]).toEqual([200, 'verified']);
    // Verified: the retry is called off.
    expect(await row(id)).toMatchObject({ mail_due_at: null, pending_code_hmac: null, send_count: 0, verified_at: expect.any(Date) });

    // b) Confirmed from inside a send that then fails: the failure does not owe a verified applicant a mail.
    let during = 0;
    const b = await register(person(), (id) => async (mail, send) => {
      await send();
      const c = codeOf(mail);
      secrets.add(c);
      during = (await confirm(id, c)).statusCode;
      throw smtpErrorAfterData();
    });
    await mails(b.p.email);
    await waitFor(async () => ((await row(b.id))?.claim_token === null ? true : undefined), 10_000, 'the send finished');
    expect(during).toBe(200);
    expect(await row(b.id)).toMatchObject({ mail_due_at: null, mail_failures: 0, pending_code_hmac: null, verified_at: expect.any(Date) });
  });

  it('refuses a pending code once a resend killed it; the retry mails a new code that works', async () => {
    let failures = 1;
    const { id, p } = await register(person(), () => async (_mail, send) => {
      await send();
      if (failures-- > 0) throw smtpErrorAfterData();
    });
    const old = await latestCode(p.email);
    await failuresRecorded(id, 1);
    // Before the resend the pending code would verify (previous test); the resend kills it at once.
    const queued = await resend(id);
    expect([queued.statusCode, queued.json()]).toEqual([202, { registrationId: id, status: 'pending' }]);
    expect(await row(id)).toMatchObject({ pending_code_hmac: null, pending_expires_at: null, window_sends: 1 });
    const dead = await confirm(id, old);
    expect([dead.statusCode, dead.json().code]).toEqual([409, 'EMAIL_CODE_NOT_SENT']);

    await onlyNewCodeConfirms(id, old, await latestCode(p.email, 2));
    expect(await row(id)).toMatchObject({ send_count: 1, mail_failures: 0, verified_at: expect.any(Date) });
  });

  it('answers 404 for an unknown registration, 400 for a malformed id or code', async () => {
    const unknown = randomUUID();
    for (const r of [await get(unknown), await confirm(unknown, '123456'), await resend(unknown)]) {
      expect([r.statusCode, r.json().code]).toEqual([404, 'EMAIL_VERIFICATION_NOT_FOUND']);
    }
    expect((await get('not-a-uuid')).json().code).toBe('VALIDATION_FAILED');
    const { id, p } = await register();
    await latestCode(p.email);
    for (const code of ['12345', '1234567', 'abcdef']) {
      const r = await confirm(id, code);
      expect([r.statusCode, r.json().code, r.json().errors[0].field]).toEqual([400, 'VALIDATION_FAILED', 'code']);
    }
    // Malformed codes are not guesses: all five attempts are left.
    expect((await sentState(id)).attemptsLeft).toBe(5);
  });

  it('mails a second registration of a held address the notice the intake decided, and nothing for a replayed event', async () => {
    const first = await register();
    await latestCode(first.p.email);
    const replays = await metric(app, 'email_submissions_consumed_total', 'outcome="replay"');

    // Redis bypassed at the intake: it accepted both; its projector stored the first and rejected this
    // one. The rejection is published first here: the shared topics also carry the verdicts of other
    // suites' projectors (each in its own schema accepts anything), and a rejection is final.
    const dup = submittedEvent(t.cipher, person({ email: first.p.email.toUpperCase() }));
    const original = submittedEvent(t.cipher, first.p, first.id);
    await publisher.publishStatus(statusEvent(dup.data.registrationId, 'rejected_duplicate', 'DUPLICATE_NIK_OR_EMAIL'));
    await publisher.publishUndecided(dup, original);
    await waitFor(
      async () => ((await metric(app, 'email_submissions_consumed_total', 'outcome="replay"')) > replays ? true : undefined),
      10_000,
      'replay counted',
    );
    const [, notice] = await mailsTo(maildev, first.p.email, 2);
    expect(notice!.subject).toBe(noticeMail('EMAIL_REGISTERED').subject);
    const rows = await db.query(
      `SELECT registration_id, send_count, notice FROM ${t.schema}.verifications WHERE registration_id = ANY($1::uuid[]) ORDER BY send_count`,
      [[first.id, dup.data.registrationId]],
    );
    expect(rows.rows).toEqual(
      expect.arrayContaining([
        { registration_id: first.id, send_count: 1, notice: null },
        { registration_id: dup.data.registrationId, send_count: 1, notice: 'EMAIL_REGISTERED' },
      ]),
    );
  });

  it('limits confirms per client IP with a token bucket (429 RATE_LIMITED with Retry-After)', async () => {
    const id = randomUUID();
    const from = (n: number) =>
      app.inject({ method: 'POST', url: `/v1/email-verifications/${id}/confirm`, payload: { code: '000000' }, remoteAddress: `10.${n}.0.1` });
    const ip = Math.floor(Math.random() * 200);
    for (let i = 0; i < 30; i++) expect((await from(ip)).statusCode).toBe(404);
    const limited = await from(ip);
    expect([limited.statusCode, limited.json().code, Number(limited.headers['retry-after']) > 0]).toEqual([429, 'RATE_LIMITED', true]);
    expect((await from(ip + 1)).statusCode).toBe(404);
  });

  it('keeps the sealed data sealed at rest and documents the routes in OpenAPI', async () => {
    const { id, p } = await register();
    await latestCode(p.email);
    const row = (await db.query(`SELECT * FROM ${t.schema}.verifications WHERE registration_id = $1`, [id])).rows[0];
    expect(t.cipher.decrypt(row.email_enc, 'email')).toBe(p.email);
    const text = JSON.stringify(row);
    for (const v of [p.email, p.nik, p.fullName, p.birthDate]) expect(text).not.toContain(v);
    const doc = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/email-verifications/{registrationId}',
        '/v1/email-verifications/{registrationId}/confirm',
        '/v1/email-verifications/{registrationId}/resend',
      ]),
    );
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.json()).toEqual({ status: 'ok', checks: { postgres: 'ok', kafka: 'ok', outbox: 'ok', 'mail-sender': 'ok', consumers: 'ok' } });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const name of ['email_mails_sent_total', 'email_confirms_total', 'email_mail_backlog', 'email_submissions_consumed_total'])
      expect(metrics).toContain(name);
  });

  it('never wrote an address, code, NIK or name to a log line', () => {
    const logs = capturedLogs.join('');
    expect(logs).toContain('verification mail sent');
    for (const v of secrets) {
      const re = /^\d{6}$/.test(v) ? new RegExp(`(?<![\\d.])${v}(?![\\d])`) : undefined;
      if (re) expect(logs).not.toMatch(re);
      else expect(logs.toLowerCase()).not.toContain(v.toLowerCase());
    }
  });
});
