import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { EMAIL_VERIFICATION_REQUESTED_V1, type RegistrationConflict } from '@gelombang/contracts';
import type { App } from '@gelombang/platform';
import { capturedLogs, DATABASE_URL, dropSchema, startMailDev, TopicTap, waitFor, type MailDev, type MailDevEmail } from '@gelombang/testkit';
import { CodeHasher } from '../src/domain/codes';
import { noticeMail } from '../src/domain/mail-content';
import {
  answerShape,
  buildTestApp,
  codeOf,
  metric,
  person,
  statusEvent,
  SubmittedPublisher,
  submittedEvent,
  testEnv,
  type Answer,
  type Person,
  type TestEnv,
  mailsTo,
} from './helpers/build-test-app';

const KINDS: RegistrationConflict[] = ['EMAIL_REGISTERED', 'NIK_HELD', 'NIK_BUSY'];

/** Every personal value and code the tests used, to prove none reached a log line. */
const secrets = new Set<string>();

describe('a registration that met a conflict is mailed a notice, and its routes answer as for any (real Kafka, PostgreSQL, Redis, MailDev)', () => {
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
      EMAIL_RESEND_COOLDOWN_SEC: '2',
      EMAIL_MAX_SENDS: '3',
      CONFIRM_RATE_LIMIT_BURST: '100',
      CONFIRM_RATE_LIMIT_PER_SEC: '0.01',
      MAIL_POLL_MS: '100',
    });
    [app, publisher, tap] = await Promise.all([buildTestApp(t), new SubmittedPublisher().connect(), new TopicTap([EMAIL_VERIFICATION_REQUESTED_V1]).start()]);
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await app?.close();
    await Promise.allSettled([publisher?.close(), tap?.stop(), maildev?.stop(), db?.end()]);
    if (t) await dropSchema(t.schema);
  });

  /** Publishes a registration for `p` on the real topic, with the conflict the intake met (if any). */
  async function register(p: Person = person(), conflict?: RegistrationConflict): Promise<{ id: string; p: Person }> {
    for (const v of [p.email, p.nik, p.fullName]) secrets.add(v);
    const e = submittedEvent(t.cipher, p, randomUUID(), conflict);
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
  const confirm = (id: string, code: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: `/v1/email-verifications/${id}/confirm`, payload: { code }, headers });
  const resend = (id: string) => app.inject({ method: 'POST', url: `/v1/email-verifications/${id}/resend` });
  const sentState = (id: string) =>
    waitFor<{ status: 'sent'; attemptsLeft: number; resendAvailableAt: string }>(
      async () => {
        const r = await get(id);
        return r.statusCode === 200 && r.json().status === 'sent' ? r.json() : undefined;
      },
      20_000,
      'status sent',
    );
  const row = async (id: string) => (await db.query(`SELECT * FROM ${t.schema}.verifications WHERE registration_id = $1`, [id])).rows[0];
  const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');
  const isNotice = (mail: MailDevEmail, kind: RegistrationConflict) => {
    const expected = noticeMail(kind);
    expect(mail.subject).toBe(expected.subject);
    for (const line of expected.text.split('\n').filter(Boolean)) expect(mail.text).toContain(line);
    expect(`${mail.subject}\n${mail.text}`).not.toMatch(/\d{6}/);
    expect(() => codeOf(mail)).toThrow('not a code mail');
  };

  it.each(KINDS)('mails a %s registration the notice of its kind to the address given, never a code', async (kind) => {
    const before = await metric(app, 'email_notices_sent_total', `kind="${kind}"`);
    // For EMAIL_REGISTERED the address is another registration's; the notice goes to it all the same.
    const holder = kind === 'EMAIL_REGISTERED' ? await register() : undefined;
    const holderCode = holder && (await latestCode(holder.p.email));
    const { id, p } = await register(person(holder ? { email: holder.p.email } : {}), kind);
    const all = await mails(p.email, holder ? 2 : 1);
    const notice = all[all.length - 1]!;
    isNotice(notice, kind);
    expect(notice.text).not.toContain(p.nik);
    expect(notice.text).not.toContain(p.fullName);
    expect((await sentState(id)).attemptsLeft).toBe(5);
    expect(await metric(app, 'email_notices_sent_total', `kind="${kind}"`)).toBe(before + 1);
    expect(await row(id)).toMatchObject({ notice: kind, send_count: 1, verified_at: null, code_hmac: expect.any(String) });

    // The other registration, holding the address, is untouched: its code still verifies it.
    if (holder) {
      const ok = await confirm(holder.id, holderCode!);
      expect([ok.statusCode, ok.json().status]).toEqual([200, 'verified']);
    }
    // No code was handed to anyone, so nothing announces one.
    await new Promise((r) => setTimeout(r, 300));
    expect(tap.messages.filter((m) => m.key === id)).toEqual([]);
  });

  it('stores for a notice nothing that any six-digit code hashes to', async () => {
    const { id, p } = await register(person(), 'NIK_BUSY');
    await mails(p.email);
    await sentState(id);
    const stored = (await row(id)).code_hmac as string;
    const hasher = new CodeHasher(t.config.PII_INDEX_KEY);
    let matches = 0;
    for (let c = 0; c < 1_000_000; c++) if (hasher.hash(id, String(c).padStart(6, '0')) === stored) matches++;
    expect(matches).toBe(0);
  });

  it('answers GET, confirm and resend for a conflicted registration exactly as for an ordinary one, step by step', async () => {
    const holder = await register();
    await latestCode(holder.p.email);
    const normal = await register();
    const conflicted = await register(person({ email: holder.p.email }), 'EMAIL_REGISTERED');
    const ids = [normal.id, conflicted.id];
    let code = await latestCode(normal.p.email);
    isNotice((await mails(holder.p.email, 2))[1]!, 'EMAIL_REGISTERED');
    await Promise.all(ids.map(sentState));

    /** One step for both registrations, one right after the other: the answers must not differ. */
    const both = async (what: string, step: (id: string) => Promise<Answer>): Promise<Answer> => {
      const a = await step(normal.id);
      const b = await step(conflicted.id);
      expect({ what, ...answerShape(b, ids) }).toEqual({ what, ...answerShape(a, ids) });
      if (a.headers['retry-after'] !== undefined) expect(Math.abs(Number(a.headers['retry-after']) - Number(b.headers['retry-after']))).toBeLessThanOrEqual(1);
      return a;
    };

    expect((await both('view once mailed', get)).json()).toMatchObject({ status: 'sent', attemptsLeft: 5 });
    expect((await both('resend within the cooldown', resend)).json().code).toBe('EMAIL_RESEND_TOO_SOON');
    expect((await both('malformed code', (id) => confirm(id, '12345'))).json().code).toBe('VALIDATION_FAILED');
    for (const left of [4, 3, 2, 1]) {
      const r = await both(`wrong code, ${left} left`, (id) => confirm(id, wrongCode(code), left === 2 ? { 'accept-language': 'en' } : {}));
      expect([r.statusCode, r.json().code, r.json().attemptsLeft]).toEqual([400, 'EMAIL_CODE_INVALID', left]);
    }
    expect((await both('the wrong code that locks', (id) => confirm(id, wrongCode(code)))).statusCode).toBe(423);
    expect((await both('view when locked', get)).json()).toMatchObject({ status: 'locked', attemptsLeft: 0 });
    // The ordinary registration's right code is locked too; for the conflicted one it is just a code.
    expect((await both('the right code, locked', (id) => confirm(id, code))).json().code).toBe('EMAIL_CODE_LOCKED');

    // After the cooldown: a resend mails each its own kind of mail again.
    const views = await Promise.all(ids.map(async (id) => (await get(id)).json()));
    const wait = Math.max(...views.map((v) => Date.parse(v.resendAvailableAt))) - Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait) + 50));
    expect((await both('resend', resend)).json()).toEqual({ registrationId: normal.id, status: 'pending' });
    code = await latestCode(normal.p.email, 2);
    isNotice((await mails(holder.p.email, 3))[2]!, 'EMAIL_REGISTERED');
    await Promise.all(ids.map(sentState));
    // The new code has its five attempts; the registration has five tries left of its ten.
    expect((await both('view after the resend', get)).json()).toMatchObject({ status: 'sent', attemptsLeft: 5 });
    for (const left of [4, 3, 2, 1])
      expect((await both(`wrong code after the resend, ${left} left`, (id) => confirm(id, wrongCode(code)))).statusCode).toBe(400);
    const tenth = await both('the tenth wrong code', (id) => confirm(id, wrongCode(code)));
    expect([tenth.statusCode, tenth.json().code]).toEqual([429, 'EMAIL_CODE_SUBMISSIONS_EXHAUSTED']);
    expect((await both('the right code, exhausted', (id) => confirm(id, code))).json().code).toBe('EMAIL_CODE_SUBMISSIONS_EXHAUSTED');
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await both('resend when exhausted', resend)).json().code).toBe('EMAIL_CODE_SUBMISSIONS_EXHAUSTED');
    await both('view when exhausted', get);

    expect(await row(conflicted.id)).toMatchObject({ notice: 'EMAIL_REGISTERED', verified_at: null, send_count: 2, window_submissions: 10 });
    expect(await row(normal.id)).toMatchObject({ notice: null, verified_at: null, send_count: 2, window_submissions: 10 });
    expect(await maildev.emailsTo(holder.p.email)).toHaveLength(3);
  });

  describe('a registration the intake rejects NIK_HELD later (registration.status-changed.v1)', () => {
    const nikHeld = (id: string) => statusEvent(id, 'rejected_duplicate', 'NIK_HELD');
    /** Long enough for the consumer to have seen events published before a notice it waited for. */
    const settle = () => new Promise((r) => setTimeout(r, 700));

    it('kills the code it was mailed and mails the NIK_HELD notice once, however often the rejection is announced', async () => {
      const before = await metric(app, 'email_late_nik_held_notices_total');
      const { id, p } = await register();
      const code = await latestCode(p.email);
      await sentState(id);
      await publisher.publishStatus(nikHeld(id));
      isNotice((await mails(p.email, 2))[1]!, 'NIK_HELD');
      // The code from the first mail is now just a wrong code: counted, as for any registration.
      await sentState(id);
      const dead = await confirm(id, code);
      expect([dead.statusCode, dead.json().code, dead.json().attemptsLeft]).toEqual([400, 'EMAIL_CODE_INVALID', 4]);
      // Announced again (a redelivery, and a second event saying the same): no second notice.
      const again = nikHeld(id);
      await publisher.publishStatus(again, again, nikHeld(id));
      await settle();
      expect(await maildev.emailsTo(p.email)).toHaveLength(2);
      expect(await metric(app, 'email_late_nik_held_notices_total')).toBe(before + 1);
      expect(await row(id)).toMatchObject({ notice: 'NIK_HELD', verified_at: null, send_count: 2 });
      // A resend (after the cooldown) mails the notice again, as for a registration born NIK_HELD.
      await waitFor(async () => ((await resend(id)).statusCode === 202 ? true : undefined), 5_000, 'resend after the cooldown');
      isNotice((await mails(p.email, 3))[2]!, 'NIK_HELD');
    });

    it('leaves a verified registration verified, mails it the notice once, and frees its address', async () => {
      const { id, p } = await register();
      const ok = await confirm(id, await latestCode(p.email));
      expect(ok.statusCode).toBe(200);
      await publisher.publishStatus(nikHeld(id), nikHeld(id));
      isNotice((await mails(p.email, 2))[1]!, 'NIK_HELD');
      await settle();
      expect(await maildev.emailsTo(p.email)).toHaveLength(2);
      expect((await get(id)).json()).toMatchObject({ status: 'verified' });
      const replay = await confirm(id, '000000');
      expect([replay.statusCode, replay.json()]).toEqual([200, { registrationId: id, status: 'verified', verifiedAt: ok.json().verifiedAt }]);
      expect((await resend(id)).json().code).toBe('EMAIL_ALREADY_VERIFIED');
      expect(await row(id)).toMatchObject({ notice: 'NIK_HELD', verified_at: expect.any(Date), mail_due_at: null });

      // Rejected, it holds the address no more: no sign-in mail for it, and a new registration may have it.
      const dropped = await metric(app, 'email_sign_in_requests_total', 'outcome="not_verified"');
      expect((await app.inject({ method: 'POST', url: '/v1/sessions', payload: { email: p.email } })).statusCode).toBe(202);
      await waitFor(
        async () => ((await metric(app, 'email_sign_in_requests_total', 'outcome="not_verified"')) > dropped ? true : undefined),
        10_000,
        'sign-in request dropped',
      );
      const next = await register(person({ email: p.email }));
      await latestCode(p.email, 3);
      expect((await sentState(next.id)).attemptsLeft).toBe(5);
    });

    it('changes nothing for a registration born NIK_HELD, nor for any other status change', async () => {
      const born = await register(person(), 'NIK_HELD');
      await mails(born.p.email);
      await sentState(born.id);
      const other = await register();
      const code = await latestCode(other.p.email);
      await sentState(other.id);
      // The intake announces the born one's rejection too; the other registration gets statuses that owe nothing.
      const marker = await register();
      await latestCode(marker.p.email);
      await publisher.publishStatus(
        nikHeld(born.id),
        statusEvent(other.id, 'rejected_duplicate', 'EMAIL_REGISTERED'),
        statusEvent(other.id, 'nik_rejected', 'NIK_NOT_FOUND'),
        nikHeld(randomUUID()),
      );
      await publisher.publishStatus(nikHeld(marker.id));
      await mails(marker.p.email, 2);
      await settle();
      expect(await maildev.emailsTo(born.p.email)).toHaveLength(1);
      expect(await maildev.emailsTo(other.p.email)).toHaveLength(1);
      const ok = await confirm(other.id, code);
      expect([ok.statusCode, ok.json().status]).toEqual([200, 'verified']);
    });
  });

  it('drops the verification of a registration the intake expired: 404, no code works, and the address may verify again', async () => {
    const { id, p } = await register();
    const code = await latestCode(p.email);
    await sentState(id);
    await publisher.publishStatus(statusEvent(id, 'expired', 'EMAIL_NOT_VERIFIED'));
    await waitFor(async () => ((await get(id)).statusCode === 404 ? true : undefined), 20_000, 'the expired verification gone');
    expect((await confirm(id, code)).json()).toMatchObject({ code: 'EMAIL_VERIFICATION_NOT_FOUND' });
    // The same person registers again (the intake released the address): a new code, which verifies.
    const again = await register({ ...p });
    const fresh = await latestCode(p.email, 2);
    await sentState(again.id);
    expect((await confirm(again.id, fresh)).statusCode).toBe(200);
  });

  it('never wrote an address, code, NIK or name to a log line', () => {
    const logs = capturedLogs.join('');
    expect(logs).toContain('notice mail sent');
    for (const v of secrets) {
      const re = /^\d{6}$/.test(v) ? new RegExp(`(?<![\\d.])${v}(?![\\d])`) : undefined;
      if (re) expect(logs).not.toMatch(re);
      else expect(logs.toLowerCase()).not.toContain(v.toLowerCase());
    }
  });
});
