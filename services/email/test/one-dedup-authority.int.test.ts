import { join } from 'node:path';
import pg from 'pg';
import { NIK_VERIFICATION_REQUESTED_V1, REGISTRATION_STATUS_CHANGED_V1 } from '@gelombang/contracts';
import type { App } from '@gelombang/platform';
import {
  DATABASE_URL,
  dropSchema,
  freePort,
  isolatedEnv,
  startMailDev,
  startReadyServer,
  stopServer,
  TopicTap,
  uniqueId,
  waitFor,
  type MailDev,
  type ServerProcess,
} from '@gelombang/testkit';
import { buildTestApp, codeOf, mailsTo, person, SubmittedPublisher, submittedEvent, testEnv, type TestEnv } from './helpers/build-test-app';

/** The intake, built: its projector runs as its own process, as in production (infra/services.txt). */
const INTAKE_SERVER = join(__dirname, '../../intake/dist/server.js');

/**
 * Issue #14, "one dedup authority". While Redis is bypassed the intake accepts two registrations of
 * one address; its projector keeps one (PostgreSQL's unique index) and rejects the other. The email
 * consumer reads the same topic in its own order. Before decision 0024 it kept whichever it stored
 * first: the projector's winner was never mailed, and its loser verified and went on to the NIK check.
 */
describe('one dedup authority: the email service follows the intake projector (real intake projector process, Kafka, PostgreSQL, MailDev)', () => {
  let maildev: MailDev;
  let t: TestEnv;
  let app: App;
  let publisher: SubmittedPublisher;
  let tap: TopicTap;
  let db: pg.Client;
  let projector: ServerProcess | undefined;
  let intakeSchema: string;

  beforeAll(async () => {
    maildev = await startMailDev();
    t = testEnv({ MAIL_SMTP_URL: maildev.smtpUrl, MAIL_POLL_MS: '100' });
    [app, publisher, tap] = await Promise.all([
      buildTestApp(t),
      new SubmittedPublisher().connect(),
      new TopicTap([REGISTRATION_STATUS_CHANGED_V1, NIK_VERIFICATION_REQUESTED_V1]).start(),
    ]);
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await stopServer(projector);
    await app?.close();
    await Promise.allSettled([publisher?.close(), tap?.stop(), maildev?.stop(), db?.end()]);
    await dropSchema(t.schema);
    if (intakeSchema) await dropSchema(intakeSchema);
  });

  const intakeStatus = async (registrationId: string): Promise<string | undefined> =>
    (await db.query(`SELECT status FROM ${intakeSchema}.registrations WHERE registration_id = $1`, [registrationId]).catch(() => ({ rows: [] }))).rows[0]
      ?.status;
  const stored = (registrationId: string, status: string) =>
    waitFor(async () => ((await intakeStatus(registrationId)) === status ? true : undefined), 30_000, `the intake's ${status} row`);

  /** The intake's projector (CONSUMER_ENABLED), joined at the topics' end: it sees only what is published after it is ready. */
  async function startProjector(): Promise<void> {
    const port = await freePort();
    const id = uniqueId();
    const env = {
      ...isolatedEnv('intake', id),
      PII_KEYS: t.env.PII_KEYS!,
      PII_ACTIVE_KEY_ID: t.env.PII_ACTIVE_KEY_ID!,
      PII_INDEX_KEY: t.env.PII_INDEX_KEY!,
      HTTP_PORT: String(port),
      LOG_LEVEL: 'warn',
      CONSUMER_ENABLED: 'true',
      CONSUMER_GROUP: `intake-authority-${id}`,
      CONSUMER_START_AT: 'end',
    };
    intakeSchema = env.PG_SCHEMA;
    projector = await startReadyServer(INTAKE_SERVER, env, port);
    // Its group has begun reading once a submission published now is stored.
    const marker = submittedEvent(t.cipher, person());
    await waitFor(
      async () => {
        await publisher.publishUndecided(marker);
        return (await intakeStatus(marker.data.registrationId)) ? true : undefined;
      },
      60_000,
      'the projector reading',
    );
  }

  it('mails the registration the projector kept, mails the one it rejected the notice, and only the kept one reaches the NIK check', async () => {
    const p = person();
    // Both accepted by the intake (Redis bypassed, neither projected yet): one address, two registrations.
    const loser = submittedEvent(t.cipher, p);
    const winner = submittedEvent(t.cipher, person({ email: p.email }));

    // The email consumer sees `loser` first; the projector has not joined yet.
    await publisher.publishUndecided(loser);
    await waitFor(
      async () => ((await app.inject({ method: 'GET', url: `/v1/email-verifications/${loser.data.registrationId}` })).statusCode === 200 ? true : undefined),
      20_000,
      'loser stored by email',
    );
    await startProjector();
    // The projector sees `winner` first, then `loser` again (Kafka delivers at least once: the intake's
    // producer retried a send whose acknowledgement was lost). PostgreSQL keeps the winner.
    await publisher.publishUndecided(winner);
    await stored(winner.data.registrationId, 'pending_email_verification');
    await publisher.publishUndecided(loser);
    await stored(loser.data.registrationId, 'rejected_duplicate');

    // The address gets one code mail, and its code is the kept registration's.
    const codeMail = await waitFor(
      async () => {
        const mails = await maildev.emailsTo(p.email);
        return mails.find((m) => /: \d{6}\r?$/m.test(m.text ?? ''));
      },
      30_000,
      'a code mail',
    );
    const code = codeOf(codeMail);
    const confirm = (registrationId: string) => app.inject({ method: 'POST', url: `/v1/email-verifications/${registrationId}/confirm`, payload: { code } });
    const kept = await confirm(winner.data.registrationId);
    expect([kept.statusCode, kept.json().status]).toEqual([200, 'verified']);
    expect((await confirm(loser.data.registrationId)).statusCode).not.toBe(200);

    // The rejected one is told the address is registered (as when the intake sees the conflict itself).
    const mails = await mailsTo(maildev, p.email, 2);
    expect(mails.filter((m) => /: \d{6}\r?$/m.test(m.text ?? ''))).toHaveLength(1);
    const [winnerCheck] = await tap.waitFor(NIK_VERIFICATION_REQUESTED_V1, { key: winner.data.registrationId });
    expect(winnerCheck).toMatchObject({ data: { registrationId: winner.data.registrationId, attempt: 1 } });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(tap.messages.filter((m) => m.topic === NIK_VERIFICATION_REQUESTED_V1 && m.key === loser.data.registrationId)).toEqual([]);
    expect(await intakeStatus(winner.data.registrationId)).toBe('pending_email_verification');
  });
});
