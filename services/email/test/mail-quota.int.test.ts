import { stat } from 'node:fs/promises';
import pg from 'pg';
import type { App } from '@gelombang/platform';
import { DATABASE_URL, dropSchema, startMailDev, waitFor, type MailDev, type MailDevEmail } from '@gelombang/testkit';
import type { RegistrationConflict } from '@gelombang/contracts';
import { noticeMail } from '../src/domain/mail-content';
import {
  answerShape,
  buildTestApp,
  codeOf,
  metric,
  person,
  sameEnv,
  SubmittedPublisher,
  submittedEvent,
  testEnv,
  type TestEnv,
} from './helpers/build-test-app';

const BURST = 5;
const PER_SEC = 5;
const COUNT = 40;

/**
 * When MailDev finished receiving each message: the mtime of the .eml it wrote while the DATA came in
 * (its `time` field is the Date header, whole seconds).
 */
async function receivedAt(mails: MailDevEmail[]): Promise<number[]> {
  const times = await Promise.all(mails.map(async (m) => (await stat((m as MailDevEmail & { source: string }).source)).mtimeMs));
  return times.sort((a, b) => a - b);
}

/** The worst window: for every pair of arrivals i ≤ j, the j − i + 1 mails in between against burst + rate·T. */
function worstWindow(times: number[]): { count: number; seconds: number; allowed: number } {
  let worst = { count: 0, seconds: 0, allowed: Infinity, excess: -Infinity };
  for (let i = 0; i < times.length; i++) {
    for (let j = i; j < times.length; j++) {
      const seconds = (times[j]! - times[i]!) / 1000;
      const allowed = BURST + PER_SEC * seconds;
      const count = j - i + 1;
      if (count - allowed > worst.excess) worst = { count, seconds, allowed, excess: count - allowed };
    }
  }
  return { count: worst.count, seconds: worst.seconds, allowed: worst.allowed };
}

describe('the mail provider quota, across a restart and two replicas (real Kafka, PostgreSQL, Redis, MailDev)', () => {
  let maildev: MailDev;
  let t: TestEnv;
  let publisher: SubmittedPublisher;
  let db: pg.Client;
  const apps: App[] = [];

  beforeAll(async () => {
    maildev = await startMailDev();
    t = testEnv({
      MAIL_SMTP_URL: maildev.smtpUrl,
      MAIL_QUOTA_BURST: String(BURST),
      MAIL_QUOTA_PER_SEC: String(PER_SEC),
      MAIL_POLL_MS: '100',
      EMAIL_CODE_TTL_SEC: '2',
      EMAIL_RESEND_COOLDOWN_SEC: '0',
    });
    publisher = await new SubmittedPublisher().connect();
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await Promise.allSettled(apps.map((a) => a.close()));
    await Promise.allSettled([publisher?.close(), maildev?.stop(), db?.end()]);
    if (t) await dropSchema(t.schema);
  });

  const start = async (overrides: Record<string, string>) => {
    const app = await buildTestApp(sameEnv(t, overrides));
    apps.push(app);
    return app;
  };
  // The topic is shared: other suites' registrations reach this schema too (sealed with other keys, so
  // never mailed). Everything below counts this test's registrations only.
  let ids: string[] = [];
  const stored = async () =>
    (await db.query(`SELECT count(*)::int AS n FROM ${t.schema}.verifications WHERE registration_id = ANY($1::uuid[])`, [ids])).rows[0].n as number;

  it('stores every registration, answers 409 to a confirm before the mail, then mails all of them exactly once within burst + rate·T', async () => {
    // 1. Only the consumer runs: everything is stored, nothing mailed yet.
    const consumerOnly = await start({ MAIL_SENDER_ENABLED: 'false' });
    const people = Array.from({ length: COUNT }, () => person());
    const events = people.map((p) => submittedEvent(t.cipher, p));
    ids = events.map((e) => e.data.registrationId);
    const addresses = new Set(people.map((p) => p.email));
    const ours = (mails: MailDevEmail[]) => mails.filter((m) => m.to.some((to) => addresses.has(to.address)));
    await publisher.publish(...events);
    await waitFor(async () => ((await stored()) === COUNT ? true : undefined), 20_000, 'all stored');
    const first = events[0]!.data.registrationId;
    const view = await consumerOnly.inject({ method: 'GET', url: `/v1/email-verifications/${first}` });
    expect(view.json()).toMatchObject({ status: 'pending', sentAt: null, expiresAt: null, resendAvailableAt: null });
    const early = await consumerOnly.inject({ method: 'POST', url: `/v1/email-verifications/${first}/confirm`, payload: { code: '123456' } });
    expect([early.statusCode, early.json().code]).toEqual([409, 'EMAIL_CODE_NOT_SENT']);
    const backlog = (await consumerOnly.inject({ method: 'GET', url: '/metrics' })).body;
    expect(Number(/^email_mail_backlog\{[^}]*\} (\d+)$/m.exec(backlog)?.[1])).toBeGreaterThanOrEqual(COUNT);
    await consumerOnly.close();

    // 2. One sender starts, and is stopped while most mails are still owed.
    const one = await start({ CONSUMER_ENABLED: 'false' });
    await waitFor(async () => (ours(await maildev.emails()).length >= 12 ? true : undefined), 20_000, '12 mails');
    await one.close();
    const afterStop = ours(await maildev.emails()).length;
    expect(afterStop).toBeLessThan(COUNT);

    // 3. Two replicas on the same schema and Redis bucket finish the rest.
    await Promise.all([start({ CONSUMER_ENABLED: 'false' }), start({ CONSUMER_ENABLED: 'false' })]);
    const all = await waitFor(
      async () => {
        const m = await maildev.emails();
        return ours(m).length >= COUNT ? m : undefined;
      },
      30_000,
      `${COUNT} mails`,
    );
    await new Promise((r) => setTimeout(r, 500));
    const final = await maildev.emails();
    expect(ours(final)).toHaveLength(COUNT);
    for (const p of people) expect(final.filter((m) => m.to.some((to) => to.address === p.email))).toHaveLength(1);
    const counts = await db.query(
      `SELECT send_count, count(*)::int AS n FROM ${t.schema}.verifications WHERE registration_id = ANY($1::uuid[]) GROUP BY send_count`,
      [ids],
    );
    expect(counts.rows).toEqual([{ send_count: 1, n: COUNT }]);

    // Every mail MailDev received went through the one bucket, so all of them count.
    const times = await receivedAt(all);
    const worst = worstWindow(times);
    // The bucket's headroom (MAIL_QUOTA_HEADROOM_MS) absorbs cold-connection delivery delays.
    expect(worst.count).toBeLessThanOrEqual(worst.allowed);

    // 4. The codes live EMAIL_CODE_TTL_SEC (2 s here): the first mail's code is long dead → 410.
    const mail = final.find((m) => m.to.some((to) => to.address === people[0]!.email))!;
    const app = apps[apps.length - 1]!;
    await waitFor(
      async () => {
        const v = (await app.inject({ method: 'GET', url: `/v1/email-verifications/${first}` })).json();
        return Date.parse(v.expiresAt) < Date.now() ? true : undefined;
      },
      5_000,
      'expiry',
    );
    const late = await app.inject({ method: 'POST', url: `/v1/email-verifications/${first}/confirm`, payload: { code: codeOf(mail) } });
    expect([late.statusCode, late.json().code]).toEqual([410, 'EMAIL_CODE_EXPIRED']);
    expect((await app.inject({ method: 'POST', url: `/v1/email-verifications/${first}/resend` })).statusCode).toBe(202);
    const resent = await waitFor(
      async () => {
        const m = await maildev.emailsTo(people[0]!.email);
        return m.length === 2 ? m[1] : undefined;
      },
      10_000,
      'the new mail',
    );
    const ok = await app.inject({ method: 'POST', url: `/v1/email-verifications/${first}/confirm`, payload: { code: codeOf(resent!) } });
    expect(ok.statusCode).toBe(200);
  });

  it('takes a token from the same bucket for every notice mail: notices and code mails together stay within burst + rate·T', async () => {
    // The replicas above stop; a consumer alone stores half code mails, half notices.
    await Promise.all(apps.splice(0).map((a) => a.close()));
    const consumerOnly = await start({ MAIL_SENDER_ENABLED: 'false' });
    const kinds: RegistrationConflict[] = ['EMAIL_REGISTERED', 'NIK_HELD', 'NIK_BUSY'];
    const people = Array.from({ length: 20 }, () => person());
    const events = people.map((p, i) => submittedEvent(t.cipher, p, undefined, i % 2 === 1 ? kinds[i % 3] : undefined));
    ids = events.map((e) => e.data.registrationId);
    const addresses = new Set(people.map((p) => p.email));
    const ours = (mails: MailDevEmail[]) => mails.filter((m) => m.to.some((to) => addresses.has(to.address)));
    await publisher.publish(...events);
    await waitFor(async () => ((await stored()) === events.length ? true : undefined), 20_000, 'all stored');

    // Before its mail, a notice's registration answers as any: pending, 409 to a confirm, 202 to a resend.
    const [plain, conflicted] = [events[0]!.data.registrationId, events[1]!.data.registrationId];
    for (const [method, path, payload] of [
      ['GET', '', undefined],
      ['POST', '/confirm', { code: '123456' }],
      ['POST', '/resend', undefined],
      ['GET', '', undefined],
    ] as const) {
      const [a, b] = await Promise.all(
        [plain, conflicted].map((id) => consumerOnly.inject({ method, url: `/v1/email-verifications/${id}${path}`, ...(payload ? { payload } : {}) })),
      );
      expect(answerShape(b!, [plain, conflicted])).toEqual(answerShape(a!, [plain, conflicted]));
    }
    expect((await consumerOnly.inject({ method: 'GET', url: `/v1/email-verifications/${conflicted}` })).json()).toMatchObject({
      status: 'pending',
      attemptsLeft: 0,
    });
    await consumerOnly.close();

    const sender = await start({ CONSUMER_ENABLED: 'false' });
    const all = await waitFor(
      async () => {
        const m = ours(await maildev.emails());
        return m.length >= events.length ? m : undefined;
      },
      30_000,
      `${events.length} mails`,
    );
    const notices = new Set(kinds.map((k) => noticeMail(k).subject));
    expect(all.filter((m) => notices.has(m.subject))).toHaveLength(10);
    expect(all.filter((m) => !notices.has(m.subject)).map((m) => codeOf(m))).toHaveLength(10);
    // Had the notices skipped the bucket they would have gone out at once, well over burst + rate·T.
    const worst = worstWindow(await receivedAt(all));
    expect(worst.count).toBeLessThanOrEqual(worst.allowed);
    expect(await metric(sender, 'email_quota_waits_total', 'reason="empty"')).toBeGreaterThan(0);
    expect(await metric(sender, 'email_notices_sent_total')).toBe(10);
  });
});
