import { setTimeout as sleep } from 'node:timers/promises';
import { ENROLLMENT_ENROLLED_V1, eventBuilder, newId, NIK_VERIFIED_V1, nikVerifiedV1Event } from '@gelombang/contracts';
import { EventProducer, withKafkaAdmin } from '@gelombang/platform';
import { randomBytes } from 'node:crypto';
import { bearer, call, callPolitely, sessionIssuerFromEnv, StatusFollower, type Json } from '../cluster';
import { groupLag, newKafka } from '../kafka';
import { runOpenModel, type OpenModelResult } from '../open-model';
import { breachesMarkdown, openModelMarkdown } from '../report';
import { funnelTargets } from './funnel';
import type { ScenarioContext, ScenarioOutcome } from './context';

interface Contender {
  registrationId: string;
  /** Its applicant session (Authorization), signed by the load suite: these people skipped the email step. */
  auth: Record<string, string>;
  first?: number;
  final?: { status: number; code?: string; enrollmentId?: string };
  retries: number;
}

/**
 * A batch opening: many verified people hit one batch with a small quota in the same instant. They
 * become eligible the way the NIK service makes them so (nik.verified.v1 on Kafka, consumed by the
 * enrollment service), then all send POST /v1/enrollments within a window of seconds; a 429 is
 * retried after its Retry-After, as the app would. Checks afterwards: exactly `quota` seats taken,
 * the rest told ENROLLMENT_BATCH_FULL, no 5xx, the batch's counter and the enrollment.enrolled.v1
 * events agree, and a winner's retry gets its own seat back (idempotent).
 *
 * Enrolling is the applicant's own (a session of that registration). These people never confirmed a
 * code, so no email service issued them one: the run signs their sessions with the cluster's
 * SESSION_SIGNING_KEY, as the email service would have, before the batch opens.
 */
export async function enrollRush(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const people = ctx.count ?? (ctx.smoke ? 60 : 5000);
  const quota = ctx.quota ?? (ctx.smoke ? 10 : 100);
  const windowSec = ctx.durationSec ?? (ctx.smoke ? 1 : 2);
  const t = funnelTargets(ctx);
  if (!t.adminToken)
    throw new Error('enroll-rush needs ADMIN_TOKEN (the enrollment service’s operator token); ./gelombang loadtest reads it from .run/dev-keys.env');
  const issuer = sessionIssuerFromEnv();
  if (!issuer)
    throw new Error(
      'enroll-rush needs SESSION_SIGNING_KEY (the private half of the cluster’s session key pair) to sign the sessions of people who skipped the email step; ./gelombang loadtest reads it from .run/dev-keys.env',
    );
  const group = process.env.ENROLLMENT_CONSUMER_GROUP ?? 'enrollment';
  const contenders: Contender[] = Array.from({ length: people }, () => {
    const registrationId = newId();
    return { registrationId, auth: bearer(issuer.issue(registrationId).token), retries: 0 };
  });

  // Eligibility through the real event path, as the NIK service publishes it after a registry match.
  const events = eventBuilder(`urn:gelombang:loadtests:${ctx.runId}`);
  const kafka = newKafka(ctx.infra.brokers, 'loadtests-rush');
  const producer = new EventProducer(kafka, { ackTimeoutMs: 30_000 });
  await producer.connect();
  try {
    for (let i = 0; i < contenders.length; i += 500) {
      await Promise.all(
        contenders.slice(i, i + 500).map((c) =>
          producer.publish(
            events.message(nikVerifiedV1Event, {
              registrationId: c.registrationId,
              attempt: 1,
              nikIndex: randomBytes(32).toString('base64url'),
              provinceCode: '32',
              verifiedAt: new Date().toISOString(),
            }),
          ),
        ),
      );
    }
  } finally {
    await producer.close();
  }
  const lagDeadline = Date.now() + 120_000;
  let lag = Number.POSITIVE_INFINITY;
  while (lag > 0 && Date.now() < lagDeadline) {
    lag = await withKafkaAdmin(kafka, (admin) => groupLag(admin, group, NIK_VERIFIED_V1));
    if (lag > 0) await sleep(250);
  }
  if (lag > 0) throw new Error(`the enrollment service (consumer group ${group}) did not take the ${people} eligibility events within 120 s (lag ${lag})`);

  const batchId = `rush-${ctx.runId}`;
  const opensAt = Date.now() + 3_000;
  const created = await call(
    'POST',
    `${t.enrollment}/v1/admin/batches`,
    {
      batchId,
      name: `Enrollment rush ${ctx.runId}`,
      quota,
      opensAt: new Date(opensAt).toISOString(),
      closesAt: new Date(opensAt + 24 * 3600_000).toISOString(),
    },
    { authorization: `Bearer ${t.adminToken}` },
  );
  if (created.status !== 201) throw new Error(`could not create batch ${batchId}: ${created.status} ${JSON.stringify(created.body)}`);
  const enrolledEvents = await new StatusFollower(ctx.infra.brokers, ENROLLMENT_ENROLLED_V1, (d) =>
    d?.batchId === batchId ? { status: 'enrolled', reason: d.enrollmentId } : undefined,
  ).start();

  process.stderr.write(
    `enroll-rush: ${people} verified people, batch ${batchId} with ${quota} seats opening in ${Math.round((opensAt - Date.now()) / 1000)} s, all arriving within ${windowSec} s (run ${ctx.runId})\n`,
  );
  await sleep(Math.max(0, opensAt - Date.now()));
  const retried: Promise<void>[] = [];
  const settle = (c: Contender, status: number, body: Json) =>
    (c.final = { status, ...(body?.code ? { code: body.code } : {}), ...(body?.enrollmentId ? { enrollmentId: body.enrollmentId } : {}) });
  let rush: OpenModelResult;
  try {
    rush = await runOpenModel({
      target: t.enrollment,
      steps: [{ ratePerSec: people / windowSec, durationSec: windowSec }],
      maxRequests: people,
      connections: 256,
      label: 'enroll-rush',
      makeRequest: (i) => ({
        path: '/v1/enrollments',
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(contenders[i] as Contender).auth },
        body: JSON.stringify({ registrationId: (contenders[i] as Contender).registrationId, batchId }),
      }),
      onResponse: (i, status, text) => {
        const c = contenders[i] as Contender;
        c.first = status;
        let body: Json;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        if (status !== 429 && status !== 503) return void settle(c, status, body);
        retried.push(
          callPolitely(
            'POST',
            `${t.enrollment}/v1/enrollments`,
            { registrationId: c.registrationId, batchId },
            { headers: c.auth, attempts: 30, maxWaitSec: 5, onRetry: () => c.retries++ },
          )
            .then((a) => void settle(c, a.status, a.body))
            .catch(() => void settle(c, 0, { code: 'CLIENT_GAVE_UP' })),
        );
      },
    });
    await Promise.all(retried);
    // Whoever got a seat asks again (a lost answer, a double tap): the same seat comes back.
    const winners = contenders.filter((c) => c.final?.status === 201);
    const replays = await Promise.all(
      winners.map((c) => call('POST', `${t.enrollment}/v1/enrollments`, { registrationId: c.registrationId, batchId }, c.auth)),
    );
    const replayMismatch = replays.filter((r, i) => r.status !== 200 || r.body?.enrollmentId !== winners[i]?.final?.enrollmentId).length;
    const eventsDeadline = Date.now() + 30_000;
    while (enrolledEvents.events.size < winners.length && Date.now() < eventsDeadline) await sleep(200);
    await sleep(1_000); // anything beyond the quota would show up now
    const batch = (await call('GET', `${t.enrollment}/v1/batches/${batchId}`)).body as { enrolled?: number; seatsLeft?: number };

    const finals: Record<string, number> = {};
    for (const c of contenders) {
      const k = c.final ? `${c.final.status}${c.final.code ? ` ${c.final.code}` : ''}` : 'no answer';
      finals[k] = (finals[k] ?? 0) + 1;
    }
    const full = contenders.filter((c) => c.final?.status === 409 && c.final.code === 'ENROLLMENT_BATCH_FULL').length;
    const server5xx = contenders.filter((c) => (c.final?.status ?? 0) >= 500 || (c.first ?? 0) >= 500).length;
    const eventCount = [...enrolledEvents.events.values()].reduce((a, l) => a + l.length, 0);
    const retriesTotal = contenders.reduce((a, c) => a + c.retries, 0);
    const breaches: string[] = [];
    if (winners.length !== quota) breaches.push(`${winners.length} seats taken, the quota is ${quota}`);
    if (batch.enrolled !== quota) breaches.push(`the batch says ${batch.enrolled} enrolled, the quota is ${quota}`);
    if (winners.length + full !== people)
      breaches.push(`${people - winners.length - full} people ended neither enrolled nor told ENROLLMENT_BATCH_FULL: ${JSON.stringify(finals)}`);
    if (server5xx > 0) breaches.push(`${server5xx} answers were 5xx`);
    if (enrolledEvents.events.size !== winners.length)
      breaches.push(`${enrolledEvents.events.size} registrations have an enrollment.enrolled.v1 event for this batch, ${winners.length} got a seat`);
    if (replayMismatch > 0) breaches.push(`${replayMismatch} winners asking again did not get their own seat back (200, same enrollmentId)`);
    const markdown = [
      `# Enrollment rush — ${rush.startedAt}`,
      '',
      `Run ${ctx.runId}: ${people} verified people, one batch (\`${batchId}\`) with ${quota} seats, all arriving within ${windowSec} s of the opening, against ${t.enrollment}.`,
      '',
      breachesMarkdown(breaches),
      '',
      '## Outcome',
      '',
      `| | count |`,
      `| --- | ---: |`,
      `| seats taken (201) | ${winners.length} |`,
      `| told ENROLLMENT_BATCH_FULL | ${full} |`,
      `| the batch's own counter | ${batch.enrolled} (seats left ${batch.seatsLeft}) |`,
      `| enrollment.enrolled.v1 events for the batch | ${eventCount} (${enrolledEvents.events.size} registrations) |`,
      `| 429s retried after Retry-After | ${retriesTotal} |`,
      `| winners' repeat requests answered 200 with their seat | ${winners.length - replayMismatch} of ${winners.length} |`,
      '',
      `Final answers: ${Object.entries(finals)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}.`,
      '',
      '## First attempts (open model, latency from the scheduled send)',
      '',
      openModelMarkdown(rush),
    ].join('\n');
    return {
      data: {
        people,
        quota,
        windowSec,
        batchId,
        winners: winners.length,
        full,
        batch,
        eventCount,
        retries: retriesTotal,
        replayMismatch,
        finals,
        rush,
        breaches,
      },
      markdown,
      breaches,
      html: {
        title: `Enrollment rush — ${people} people, ${quota} seats`,
        scenario: 'enroll-rush',
        summary: [
          ['people', people],
          ['seats', quota],
          ['seats taken', winners.length],
          ['told full', full],
          ['429s retried', retriesTotal],
          ['first-attempt p99', `${rush.latencyMs.p99} ms`],
        ],
        timeline: rush.timeline,
        statusCounts: rush.statusCounts,
      },
    };
  } finally {
    await enrolledEvents.stop();
  }
}
