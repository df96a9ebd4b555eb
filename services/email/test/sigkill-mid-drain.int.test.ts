import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { keyHash } from '@gelombang/platform';
import pg from 'pg';
import { request } from 'undici';
import {
  CONSUMER_SESSION_TIMEOUT_MS,
  DATABASE_URL,
  dropSchema,
  freePort,
  startMailDev,
  startReadyServer,
  stopServer,
  waitFor,
  type MailDev,
  type MailDevEmail,
  type ServerProcess,
} from '@gelombang/testkit';
import { codeOf, person, statusEvent, SubmittedPublisher, submittedEvent, testEnv, type TestEnv } from './helpers/build-test-app';

const SERVER = join(__dirname, '../dist/server.js');
// Longer than a restart after a SIGKILL takes here (the consumer group waits out the dead member's session).
const COOLDOWN_SEC = 45;

/** A registration id whose events land on partition 0 (of 6, infra/kafka/topics.txt), as every producer places keys. */
function onePartition(): string {
  for (;;) {
    const id = randomUUID();
    if ((keyHash(id) & 0x7fffffff) % 6 === 0) return id;
  }
}

/**
 * Issue #14, "consumer SIGKILL mid-drain". The sender stores a code, hands the mail to the provider,
 * then records it (markSent). A process killed between the provider's acceptance and that commit used
 * to send the mail again with a new code as soon as its lease ran out. Decision 0024: at least once,
 * never twice within the resend cooldown, and the first mail's code keeps working.
 */
describe('the mail sender SIGKILLed mid-drain (real email process, Kafka, PostgreSQL, Redis, MailDev)', () => {
  let maildev: MailDev;
  let t: TestEnv;
  let publisher: SubmittedPublisher;
  let db: pg.Client;
  let lock: pg.Client | undefined;
  let proc: ServerProcess | undefined;
  let base: string;

  beforeAll(async () => {
    maildev = await startMailDev();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = testEnv({
      HTTP_PORT: String(port),
      LOG_LEVEL: 'warn',
      MAIL_SMTP_URL: maildev.smtpUrl,
      MAIL_CLAIM_LEASE_SEC: '2',
      MAIL_CONCURRENCY: '4',
      MAIL_BATCH_SIZE: '20',
      MAIL_POLL_MS: '100',
      EMAIL_RESEND_COOLDOWN_SEC: String(COOLDOWN_SEC),
    });
    publisher = await new SubmittedPublisher().connect();
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await stopServer(proc);
    await lock?.end().catch(() => undefined);
    await Promise.allSettled([publisher?.close(), maildev?.stop(), db?.end()]);
    await dropSchema(t.schema);
  });

  const start = async () => {
    proc = await startReadyServer(SERVER, t.env, new URL(base).port);
  };

  const confirm = async (registrationId: string, code: string) => {
    const r = await request(`${base}/v1/email-verifications/${registrationId}/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    return { status: r.statusCode, body: (await r.body.json()) as { status?: string } };
  };

  it('after a kill between the provider taking mails and their record, mails nobody twice within the cooldown, and every code mailed works', async () => {
    await start();
    // Its consumer groups are reading once a registration published now is mailed.
    const marker = person();
    await waitFor(
      async () => {
        await publisher.publish(submittedEvent(t.cipher, marker));
        await new Promise((r) => setTimeout(r, 1_000));
        return (await maildev.emailsTo(marker.email)).length > 0 ? true : undefined;
      },
      60_000,
      'the process mailing',
    );
    const people = Array.from({ length: 10 }, () => person());
    // Registrations on one partition: their verdicts come in one batch, so the first round claims them all.
    const events = people.map((p) => submittedEvent(t.cipher, p, onePartition()));
    const idOf = new Map(people.map((p, i) => [p.email, events[i]!.data.registrationId]));

    // Stored first, awaiting the projector's verdict: then every mail becomes due at once.
    await publisher.publishUndecided(...events);
    await waitFor(
      async () =>
        (await db.query(`SELECT count(*)::int AS n FROM ${t.schema}.verifications WHERE registration_id = ANY($1::uuid[])`, [[...idOf.values()]])).rows[0].n ===
        10
          ? true
          : undefined,
      30_000,
      'all stored',
    );
    // Every mail's record waits behind this lock (markSent writes its event to the outbox), so the
    // mails the provider takes from now on are exactly the ones a kill leaves unrecorded.
    lock = new pg.Client({ connectionString: DATABASE_URL });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query(`LOCK TABLE ${t.schema}.outbox IN EXCLUSIVE MODE`);
    await publisher.publishStatus(...events.map((e) => statusEvent(e.data.registrationId, 'pending_email_verification')));
    const mine = async () => (await maildev.emails()).filter((m) => idOf.has(m.to[0]!.address));
    // The senders each hand one mail over, then wait on the lock: at least two, and no more coming.
    let seen = -1;
    const unrecorded = await waitFor(
      async () => {
        const now = await mine();
        const stable = now.length >= 2 && now.length === seen;
        seen = now.length;
        if (!stable) await new Promise((r) => setTimeout(r, 1_500));
        return stable ? now : undefined;
      },
      30_000,
      'mails handed over',
    );
    proc!.proc.kill('SIGKILL');
    await proc!.exited;
    await lock.query('ROLLBACK');
    await lock.end();
    lock = undefined;
    // Restarted once the dead member's Kafka session (15 s) is over: sooner, the new one's consumer
    // groups wait out the dead member longer than Fastify lets a plugin start, and it gives up.
    await new Promise((r) => setTimeout(r, CONSUMER_SESSION_TIMEOUT_MS + 1_000));

    await start();
    // Half of those applicants confirm with the code the dead process mailed them: it still works.
    const orphans = unrecorded.map((m) => m.to[0]!.address);
    const confirmedFirst = orphans.slice(0, Math.floor(orphans.length / 2));
    for (const address of confirmedFirst) {
      const first = unrecorded.find((m) => m.to[0]!.address === address)!;
      expect(await confirm(idOf.get(address)!, codeOf(first))).toMatchObject({ status: 200, body: { status: 'verified' } });
    }

    // Everyone gets a mail; the others among the orphans get theirs again, after the cooldown.
    const byAddress = async () => {
      const all = await mine();
      return new Map(people.map((p) => [p.email, all.filter((m) => m.to[0]!.address === p.email)]));
    };
    const expected = (address: string) => (orphans.includes(address) && !confirmedFirst.includes(address) ? 2 : 1);
    const final = await waitFor(
      async () => {
        const m = await byAddress();
        return [...m].every(([address, mails]) => mails.length >= expected(address)) ? m : undefined;
      },
      COOLDOWN_SEC * 1000 + 30_000,
      'every mail owed',
    );
    // Long enough for a mail owed twice to show: the lease and a sender round past the cooldown.
    await new Promise((r) => setTimeout(r, 3_000));
    const settled = await byAddress();
    const gaps: number[] = [];
    for (const [address, mails] of settled) {
      expect({ address, mails: mails.length }).toEqual({ address, mails: expected(address) });
      const times = mails.map((m: MailDevEmail) => Date.parse(m.time)).sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) gaps.push(times[i]! - times[i - 1]!);
    }
    expect(gaps.length).toBe(orphans.length - confirmedFirst.length);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual((COOLDOWN_SEC - 1) * 1000);

    // The mail sent again carries a code that works.
    for (const address of orphans.filter((a) => !confirmedFirst.includes(a))) {
      const latest = final
        .get(address)!
        .sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
        .at(-1)!;
      expect(await confirm(idOf.get(address)!, codeOf(latest))).toMatchObject({ status: 200, body: { status: 'verified' } });
    }
  }, 240_000);
});
