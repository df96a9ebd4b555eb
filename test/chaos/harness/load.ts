import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { calendarDateIn, generateValidPerson } from '@gelombang/nik';
import { bearer, call, Mailbox, type HttpAnswer } from '../../../loadtests/src/cluster';
import { clientAddress, randomSeedBase } from '../../../loadtests/src/registrations';
import type { Cluster } from './cluster';

/*
 * The clients of a chaos run and their history: every answer every simulated applicant got (Jepsen's
 * "history"), with the time it came. Applicants behave as the app does: a 429 or 503 is retried after
 * its Retry-After, a request that got no answer is retried with the same Idempotency-Key, any other
 * answer is final. The checker later holds the history against PostgreSQL, the topics, MailDev and
 * the registry stand-in.
 */

export type Op = 'register' | 'confirm' | 'sign-in' | 'enroll';

export interface Answer {
  op: Op;
  person: number;
  /** ms since the run's start when the request left and when its answer came. */
  sentAt: number;
  at: number;
  /** 0: no answer (connection refused or reset, timeout). */
  status: number;
  retryAfter?: string;
  code?: string;
}

export type Final = 'registered' | 'refused' | 'unanswered' | 'enrolled' | 'batch_full' | 'stuck';

export interface Person {
  i: number;
  seed: number;
  nik: string;
  fullName: string;
  birthDate: string;
  email: string;
  registrationId?: string;
  /** Every registrationId the intake answered this person with (more than one would be a second registration). */
  acceptedIds: Set<string>;
  final?: Final;
  stuckAt?: string;
}

export interface Window {
  name: string;
  from: number;
  /** When the heal began (a broker or datastore being started again); `to` is when it was done. */
  healFrom?: number;
  to?: number;
}

export class History {
  readonly t0 = Date.now();
  readonly answers: Answer[] = [];
  readonly windows: Window[] = [];
  now = () => Date.now() - this.t0;

  /** One request, recorded; never throws. */
  async send(op: Op, person: number, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer | undefined> {
    const sentAt = this.now();
    try {
      const a = await call(method, url, body, headers, 20_000);
      this.answers.push({
        op,
        person,
        sentAt,
        at: this.now(),
        status: a.status,
        ...(a.retryAfterSec === undefined ? {} : { retryAfter: String(a.retryAfterSec) }),
        ...(typeof a.body?.code === 'string' ? { code: a.body.code } : {}),
      });
      return a;
    } catch (e) {
      // ECONNREFUSED: nothing listened (the request never reached a server); anything else (a reset, a timeout) may have been processed.
      const code = ((e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name) || 'ERROR';
      this.answers.push({ op, person, sentAt, at: this.now(), status: 0, code });
      return undefined;
    }
  }

  /** Marks a fault from now; `healing()` when its heal begins, `healed()` when it is done. */
  fault(name: string): { healing: () => void; healed: () => void } {
    const w: Window = { name, from: this.now() };
    this.windows.push(w);
    process.stderr.write(`[chaos] ${name}: fault at ${w.from} ms\n`);
    return {
      healing: () => void (w.healFrom = this.now()),
      healed: () => {
        w.to = this.now();
        process.stderr.write(`[chaos] ${name}: healed at ${w.to} ms (heal began at ${w.healFrom ?? w.to} ms)\n`);
      },
    };
  }
}

export function people(n: number, runId: string): Person[] {
  const today = calendarDateIn(new Date());
  const base = randomSeedBase();
  return Array.from({ length: n }, (_, i) => {
    const seed = base + i;
    const p = generateValidPerson(seed, today);
    return {
      i,
      seed,
      nik: p.nik,
      birthDate: p.birthDate,
      fullName: `Peserta ${seed.toString(36).replace(/[0-9]/g, (d) => 'abcdefghij'[Number(d)]!)} Chaos`,
      email: `c${seed}-${runId}@chaos.example.co.id`,
      acceptedIds: new Set<string>(),
    };
  });
}

export interface LoadOptions {
  ratePerSec: number;
  /** How long one person keeps retrying before giving up (its last answer is then final). */
  patienceMs?: number;
  /** Go on through the funnel after a 202: mail, confirm, NIK check, enrollment in `batchId`. */
  funnel?: { batchId: string; stageTimeoutMs: number };
}

const retryable = (a: HttpAnswer | undefined) => a === undefined || a.status === 429 || a.status === 503;
const waitFor = (a: HttpAnswer | undefined) => Math.min(Math.max(a?.retryAfterSec ?? 1, 0.5), 5) * 1000 * (0.5 + Math.random());

/** Repeats a request while it is retryable (refused for now, or unanswered) and the person still waits. */
async function politely(deadline: number, send: () => Promise<HttpAnswer | undefined>): Promise<HttpAnswer | undefined> {
  for (;;) {
    const a = await send();
    if (!retryable(a) || Date.now() + waitFor(a) > deadline) return a;
    await sleep(waitFor(a));
  }
}

/** The applicants' load: people start at `ratePerSec`, each through registration (and the funnel). Resolves when all are done. */
export async function runLoad(cluster: Cluster, h: History, persons: Person[], o: LoadOptions, mailbox?: Mailbox): Promise<void> {
  const intake = cluster.svc.intake.url;
  const patience = o.patienceMs ?? 60_000;
  const one = async (p: Person) => {
    const headers = { 'x-forwarded-for': clientAddress(p.seed), 'idempotency-key': randomUUID() };
    const body = { fullName: p.fullName, nik: p.nik, email: p.email, phone: `0813${String(p.seed % 100_000_000).padStart(8, '0')}`, birthDate: p.birthDate };
    const a = await politely(Date.now() + patience, async () => {
      const r = await h.send('register', p.i, 'POST', `${intake}/v1/registrations`, body, headers);
      if (r?.status === 202 && typeof r.body?.registrationId === 'string') p.acceptedIds.add(r.body.registrationId);
      return r;
    });
    if (a?.status !== 202) return void (p.final = a === undefined ? 'unanswered' : 'refused');
    p.registrationId = a.body.registrationId as string;
    p.final = 'registered';
    if (o.funnel && mailbox) await funnel(cluster, h, p, o.funnel, mailbox, headers['x-forwarded-for']);
  };
  const all: Promise<void>[] = [];
  for (const p of persons) {
    all.push(one(p).catch((e: Error) => ((p.final = 'stuck'), (p.stuckAt = `client error ${e.message}`), undefined)));
    await sleep(1000 / o.ratePerSec);
  }
  await Promise.all(all);
}

async function funnel(cluster: Cluster, h: History, p: Person, f: NonNullable<LoadOptions['funnel']>, mailbox: Mailbox, address: string): Promise<void> {
  const id = p.registrationId as string;
  let deadline = Date.now() + f.stageTimeoutMs;
  const stuck = (at: string) => void ((p.final = 'stuck'), (p.stuckAt = at));
  let code: string;
  try {
    code = await mailbox.code(p.email.toLowerCase(), f.stageTimeoutMs);
  } catch {
    return stuck('no mail');
  }
  const confirm = await politely(deadline, () =>
    h.send('confirm', p.i, 'POST', `${cluster.svc.email.url}/v1/email-verifications/${id}/confirm`, { code }, { 'x-forwarded-for': address }),
  );
  let token = confirm?.body?.session?.token as string | undefined;
  if (confirm?.status !== 200) return stuck(`confirm ${confirm?.status ?? 'unanswered'} ${confirm?.body?.code ?? ''}`.trim());
  // A confirm answered 503 after it committed: the retry's replayed 200 carries no session. The documented
  // way on (decision 0017, the confirm's description) is to sign in; as a polite client, once the resend
  // cooldown since the verification mail has passed.
  if (!token) {
    token = await signIn(cluster, h, p, code, mailbox, f, address);
    if (!token) return stuck('sign-in after a replayed confirm');
    deadline = Date.now() + f.stageTimeoutMs;
  }
  // Eligible once the registry's answer (nik.verified.v1) reached the enrollment service: until then 403 NOT_ELIGIBLE, asked again.
  for (;;) {
    const a = await politely(deadline, () =>
      h.send(
        'enroll',
        p.i,
        'POST',
        `${cluster.svc.enrollment.url}/v1/enrollments`,
        { registrationId: id, batchId: f.batchId },
        { 'x-forwarded-for': address, ...bearer(token) },
      ),
    );
    if (a?.status === 201 || a?.status === 200 || a?.body?.code === 'ENROLLMENT_ALREADY_ENROLLED') return void (p.final = 'enrolled');
    if (a?.body?.code === 'ENROLLMENT_BATCH_FULL') return void (p.final = 'batch_full');
    if (a?.body?.code !== 'ENROLLMENT_NOT_ELIGIBLE' || Date.now() > deadline) return stuck(`enroll ${a?.status ?? 'unanswered'} ${a?.body?.code ?? ''}`.trim());
    await sleep(1_000);
  }
}

/** Passwordless sign-in (POST /v1/sessions, the mailed code, POST /v1/sessions/verify): the session, or undefined. */
async function signIn(
  cluster: Cluster,
  h: History,
  p: Person,
  previousCode: string,
  mailbox: Mailbox,
  f: NonNullable<LoadOptions['funnel']>,
  address: string,
): Promise<string | undefined> {
  const deadline = Date.now() + f.stageTimeoutMs;
  await sleep((Number(cluster.env.EMAIL_RESEND_COOLDOWN_SEC ?? 60) + 1) * 1000);
  const email = p.email.toLowerCase();
  const asked = await politely(deadline, () =>
    h.send('sign-in', p.i, 'POST', `${cluster.svc.email.url}/v1/sessions`, { email }, { 'x-forwarded-for': address }),
  );
  if (asked?.status !== 202) return undefined;
  let code: string;
  try {
    code = await mailbox.codeOtherThan(email, previousCode, Math.max(deadline - Date.now(), 1_000));
  } catch {
    return undefined;
  }
  const verified = await politely(deadline, () =>
    h.send('sign-in', p.i, 'POST', `${cluster.svc.email.url}/v1/sessions/verify`, { email, code }, { 'x-forwarded-for': address }),
  );
  return verified?.status === 200 ? (verified.body?.session?.token as string | undefined) : undefined;
}

/** Creates the run's batch (quota seats, open now) through the operator's route. */
export async function createBatch(cluster: Cluster, batchId: string, quota: number): Promise<void> {
  const now = Date.now();
  const a = await call(
    'POST',
    `${cluster.svc.enrollment.url}/v1/admin/batches`,
    { batchId, name: `Chaos ${batchId}`, quota, opensAt: new Date(now - 60_000).toISOString(), closesAt: new Date(now + 24 * 3600_000).toISOString() },
    bearer(cluster.adminToken),
  );
  if (a.status !== 201 && a.status !== 200) throw new Error(`batch ${batchId}: ${a.status} ${JSON.stringify(a.body)}`);
}

/** Loads the run's people into the registry stand-in (strict mode: only they exist). */
export async function loadPopulation(cluster: Cluster, persons: Person[]): Promise<void> {
  const a = await call('POST', `${cluster.svc['registry-sim'].url}/_sim/people`, {
    people: persons.map((p) => ({ nik: p.nik, fullName: p.fullName, birthDate: p.birthDate })),
  });
  if (a.status !== 200) throw new Error(`registry stand-in: ${a.status} ${JSON.stringify(a.body)}`);
}

export { Mailbox };
