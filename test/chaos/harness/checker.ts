import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { REGISTRATION_SUBMITTED_V1 } from '@gelombang/contracts';
import { PiiCipher, withKafkaAdmin } from '@gelombang/platform';
import { endOffsets, newKafka } from '../../../loadtests/src/kafka';
import { audit } from '../../../loadtests/src/audit';
import { bearer, call } from '../../../loadtests/src/cluster';
import type { Cluster } from './cluster';
import { REPO_ROOT } from './datastores';
import type { Answer, History, Op, Person } from './load';

/*
 * The checker: after a run, the history (what every client was told) against the final state —
 * PostgreSQL, registration.submitted.v1, MailDev's inbox and the registry stand-in's own counts.
 */

/** What the world held before a scenario: its checks count only what came after. */
export interface Before {
  offsets: Record<number, bigint>;
  registryOverQuota: number;
  attemptsVerifiedTwice: number;
}

/** The registry stand-in's own counts: over quota, and its ledger of verifications per attempt (decision 0024). */
async function registryCounts(cluster: Cluster): Promise<{ overQuota: number; attemptsVerifiedTwice: number }> {
  const sim = cluster.svc['registry-sim'].url;
  const stats = (await call('GET', `${sim}/_sim/stats`)).body as { overQuota: number };
  const calls = await call('GET', `${sim}/_sim/calls`, undefined, bearer(cluster.registryToken));
  if (calls.status !== 200) throw new Error(`registry stand-in /_sim/calls: ${calls.status}`);
  return { overQuota: stats.overQuota, attemptsVerifiedTwice: (calls.body as { attemptsVerifiedTwice: number }).attemptsVerifiedTwice };
}

export async function stateBefore(cluster: Cluster): Promise<Before> {
  const offsets = await withKafkaAdmin(newKafka(cluster.kafka.brokers, 'chaos-checker'), (admin) => endOffsets(admin, REGISTRATION_SUBMITTED_V1));
  const r = await registryCounts(cluster);
  return { offsets, registryOverQuota: r.overQuota, attemptsVerifiedTwice: r.attemptsVerifiedTwice };
}

export interface CheckOptions {
  scenario: string;
  before: Before;
  persons: Person[];
  history: History;
  /** Seats of the run's batch, when the funnel ran. */
  batch?: { id: string; quota: number };
  /** EMAIL_RESEND_COOLDOWN_SEC of the email service: two mails to one address within it are doubled. */
  mailCooldownSec: number;
  /** The provider's quota, a token bucket (MAIL_QUOTA_BURST, MAIL_QUOTA_PER_SEC): a mail that finds it empty is over quota. */
  mailBurst: number;
  mailPerSec: number;
  /** Ops whose service the fault kills: their unanswered requests are the fault itself, not a breach. */
  unansweredAllowed?: Op[];
  /** Ops whose service the fault stops gracefully: a refused connection (nothing listening, the balancer's to route around) is allowed, a reset is not. */
  refusedConnectionAllowed?: Op[];
  /** The op whose first success after the heal ends the recovery (default register). */
  recoveryOp?: Op;
}

export interface Report {
  scenario: string;
  /** Requests sent during the fault windows, and per second. */
  duringFault: { requests: number; perSec: number; byStatus: Record<string, number>; share503: number };
  /** Answers during the fault that are not 2xx, an expected business refusal, 429, or 503 with Retry-After. */
  badAnswers: Array<Answer & { why: string }>;
  accepted: number;
  lost: { registrations: number; stuck: number; sample: string[] };
  doubled: { registrations: number; mails: number; registryCalls: number; seats: number; duplicateEvents: number };
  refusedButWritten: number;
  overQuota: { registry: number; mails: number };
  finals: Record<string, number>;
  /** The last answer of each person refused registration, by status and code. */
  refusedWith: Record<string, number>;
  recoveryMs: number | null;
}

/** 2xx, and the refusals an applicant is told in normal operation (not a failure of ours). */
const EXPECTED: Record<Op, string[]> = {
  register: [],
  confirm: [],
  'sign-in': [],
  enroll: ['ENROLLMENT_NOT_ELIGIBLE', 'ENROLLMENT_BATCH_FULL', 'ENROLLMENT_ALREADY_ENROLLED'],
};

export function judge(a: Answer, unansweredAllowed: Op[], refusedAllowed: Op[] = []): string | undefined {
  if (a.status >= 200 && a.status < 300) return undefined;
  if (a.status === 429) return undefined;
  if (a.status === 503) return a.retryAfter ? undefined : '503 without Retry-After';
  if (a.status === 0 && a.code === 'ECONNREFUSED' && refusedAllowed.includes(a.op)) return undefined;
  if (a.status === 0) return unansweredAllowed.includes(a.op) ? undefined : `no answer (${a.code ?? 'unknown'})`;
  if (a.code && EXPECTED[a.op].includes(a.code)) return undefined;
  return `${a.status} ${a.code ?? ''}`.trim();
}

const inWindow = (h: History, a: Answer) => h.windows.some((w) => a.sentAt <= (w.to ?? Number.POSITIVE_INFINITY) && a.at >= w.from);

export async function check(cluster: Cluster, o: CheckOptions): Promise<Report> {
  const h = o.history;
  const during = h.answers.filter((a) => inWindow(h, a));
  const byStatus: Record<string, number> = {};
  for (const a of during) byStatus[String(a.status)] = (byStatus[String(a.status)] ?? 0) + 1;
  const faultMs = h.windows.reduce((s, w) => s + ((w.to ?? h.now()) - w.from), 0);
  const badAnswers = during.flatMap((a) => {
    const why = judge(a, o.unansweredAllowed ?? [], o.refusedConnectionAllowed ?? []);
    return why ? [{ ...a, why }] : [];
  });

  // Registrations: the loadtests' no-loss audit (PostgreSQL rows, registration.submitted.v1 copies,
  // refused people neither published nor written), then one row per person.
  const accepted = o.persons.filter((p) => p.acceptedIds.size > 0);
  const lastOf = new Map<number, Answer>();
  for (const a of h.answers) if (a.op === 'register') lastOf.set(a.person, a);
  const refused = o.persons.filter((p) => p.acceptedIds.size === 0 && (lastOf.get(p.i)?.status ?? 0) !== 0);
  const unanswered = o.persons.filter((p) => p.acceptedIds.size === 0 && (lastOf.get(p.i)?.status ?? 0) === 0);
  const a = await audit({
    infra: { databaseUrl: cluster.databaseUrl, redisUrl: cluster.redis.url, brokers: cluster.kafka.brokers },
    pgSchema: 'intake',
    startOffsets: o.before.offsets,
    outcomes: {
      accepted: [...new Set(accepted.flatMap((p) => [...p.acceptedIds]))],
      refusedNiks: refused.map((p) => p.nik),
      uncertainNiks: unanswered.map((p) => p.nik),
      refusalCodes: {},
    },
    indexKey: cluster.indexKey,
    consumerGroup: 'intake-projector',
    topic: REGISTRATION_SUBMITTED_V1,
    runId: randomBytes(4).toString('hex'),
    catchUpTimeoutMs: 120_000,
  });
  const cipher = new PiiCipher({ k1: randomBytes(32) }, 'k1', cluster.indexKey);
  const db = new pg.Client({ connectionString: cluster.databaseUrl });
  await db.connect();
  let doubledRegistrations: number;
  let doubledSeats = 0;
  let seatsOverQuota = 0;
  try {
    const rows = await db.query<{ nik_index: string; n: string }>(
      `SELECT nik_index, count(*) AS n FROM intake.registrations WHERE nik_index = ANY($1::text[]) GROUP BY nik_index`,
      [accepted.map((p) => cipher.blindIndex('nik', p.nik))],
    );
    // A person told two different registrationIds, or with two rows, was registered twice.
    doubledRegistrations = rows.rows.filter((r) => Number(r.n) > 1).length + accepted.filter((p) => p.acceptedIds.size > 1).length;
    if (o.batch) {
      const seats = await db.query<{ registration_id: string; n: string }>(
        `SELECT registration_id::text, count(*) AS n FROM enrollment.enrollments WHERE batch_id = $1 AND status = 'active' GROUP BY registration_id`,
        [o.batch.id],
      );
      doubledSeats = seats.rows.filter((r) => Number(r.n) > 1).length;
      seatsOverQuota = Math.max(0, seats.rows.length - o.batch.quota);
      const enrolled = new Set(seats.rows.map((r) => r.registration_id));
      // Told "enrolled" but holding no seat is a lost seat.
      for (const p of o.persons) {
        if (p.final !== 'enrolled' || enrolled.has(p.registrationId as string)) continue;
        p.final = 'stuck';
        p.stuckAt = 'enrolled without a seat';
      }
    }
  } finally {
    await db.end();
  }

  // Mails: MailDev is the provider's view. Two mails to one address within the cooldown are doubled.
  const addresses = new Set(o.persons.map((p) => p.email.toLowerCase()));
  const mails = (await cluster.maildev.emails()).filter((m) => m.to.some((t) => addresses.has(t.address.toLowerCase())));
  const times = new Map<string, number[]>();
  for (const m of mails) for (const t of m.to) times.set(t.address.toLowerCase(), [...(times.get(t.address.toLowerCase()) ?? []), new Date(m.time).getTime()]);
  let doubledMails = 0;
  for (const list of times.values()) {
    list.sort((x, y) => x - y);
    for (let i = 1; i < list.length; i++) if ((list[i] as number) - (list[i - 1] as number) < o.mailCooldownSec * 1000) doubledMails++;
  }
  // MailDev stamps a mail when it has parsed it: on two busy cores a second's sends can be stamped
  // together. The provider's bucket is widened by that spread (CHAOS_MAIL_SPREAD_MS, 1 s): what stays
  // caught is a sender that ignores its quota (e.g. fails open with Redis down), not MailDev's pace.
  const spreadMs = Number(process.env.CHAOS_MAIL_SPREAD_MS ?? 1_000);
  const mailsOverQuota = overBucket(
    mails.map((m) => new Date(m.time).getTime()),
    o.mailBurst + (o.mailPerSec * spreadMs) / 1000,
    o.mailPerSec,
  );

  // The registry stand-in's ledger: an attempt (the checker's idempotency key) verified more than once is a doubled call.
  const registry = await registryCounts(cluster);
  const doubledRegistryCalls = registry.attemptsVerifiedTwice - o.before.attemptsVerifiedTwice;

  const finals: Record<string, number> = {};
  for (const p of o.persons) finals[p.final ?? 'none'] = (finals[p.final ?? 'none'] ?? 0) + 1;
  const refusedWith: Record<string, number> = {};
  for (const p of refused) {
    const last = lastOf.get(p.i) as Answer;
    const key = `${last.status} ${last.code ?? ''}`.trim();
    refusedWith[key] = (refusedWith[key] ?? 0) + 1;
  }
  const stuck = o.persons.filter((p) => p.final === 'stuck' || p.final === undefined);

  // Recovery: from the moment the last heal began (the broker or datastore started again) to the first
  // success of the op the fault hit, sent after it.
  const healedAt = Math.max(...h.windows.map((w) => w.healFrom ?? w.to ?? h.now()));
  const op = o.recoveryOp ?? 'register';
  const firstOk = h.answers.filter((x) => x.op === op && x.sentAt >= healedAt && x.status >= 200 && x.status < 300).sort((x, y) => x.at - y.at)[0];

  return {
    scenario: o.scenario,
    duringFault: {
      requests: during.length,
      perSec: faultMs > 0 ? Math.round((during.length / faultMs) * 10_000) / 10 : 0,
      byStatus,
      share503: during.length ? Math.round(((byStatus['503'] ?? 0) / during.length) * 1000) / 10 : 0,
    },
    badAnswers,
    accepted: accepted.length,
    lost: {
      registrations: a.lost,
      stuck: stuck.length,
      sample: [...a.sampleMissing, ...stuck.slice(0, 5).map((p) => `#${p.i}: ${p.stuckAt ?? 'no final state'}`)],
    },
    doubled: {
      registrations: doubledRegistrations,
      mails: doubledMails,
      registryCalls: doubledRegistryCalls,
      seats: doubledSeats + seatsOverQuota,
      duplicateEvents: a.duplicatedOnKafka,
    },
    refusedButWritten: (a.refusedButWritten ?? 0) + (a.refusedButPublished ?? 0),
    overQuota: { registry: registry.overQuota - o.before.registryOverQuota, mails: mailsOverQuota },
    finals,
    refusedWith,
    recoveryMs: firstOk ? firstOk.at - healedAt : null,
  };
}

/** Mails (receive times, ms) that found the provider's token bucket empty. */
export function overBucket(times: number[], burst: number, perSec: number): number {
  let tokens = burst;
  let last = Number.NEGATIVE_INFINITY;
  let over = 0;
  for (const t of [...times].sort((a, b) => a - b)) {
    tokens = Math.min(burst, tokens + (Number.isFinite(last) ? ((t - last) / 1000) * perSec : burst));
    last = t;
    if (tokens >= 1) tokens -= 1;
    else over++;
  }
  return over;
}

/** The report, one JSON line per scenario in .run/chaos/results.jsonl (docs/reliability.md is made from it). */
export function record(r: Report, extra: Record<string, unknown> = {}): void {
  const file = process.env.CHAOS_RESULTS ?? join(REPO_ROOT, '.run', 'chaos', 'results.jsonl');
  mkdirSync(dirname(file), { recursive: true });
  const { badAnswers, ...rest } = r;
  appendFileSync(
    file,
    JSON.stringify({ ...rest, badAnswers: badAnswers.length, badSample: badAnswers.slice(0, 5), at: new Date().toISOString(), ...extra }) + '\n',
  );
  process.stderr.write(`[chaos] ${JSON.stringify({ ...rest, badAnswers: badAnswers.slice(0, 5) })}\n`);
}

/** The assertions every scenario makes on its report. */
export function expectPromisesKept(r: Report): void {
  expect(r.badAnswers.slice(0, 10)).toEqual([]);
  expect(r.lost).toEqual({ registrations: 0, stuck: 0, sample: [] });
  expect({ ...r.doubled, duplicateEvents: 0 }).toEqual({ registrations: 0, mails: 0, registryCalls: 0, seats: 0, duplicateEvents: 0 });
  expect(r.refusedButWritten).toBe(0);
  expect(r.overQuota).toEqual({ registry: 0, mails: 0 });
  expect(r.accepted).toBeGreaterThan(0);
}
