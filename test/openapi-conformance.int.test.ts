import { randomUUID } from 'node:crypto';
import { sessionFor, startMailDev, waitFor, type MailDev } from '@gelombang/testkit';
import { codeOf, mailsTo } from '../services/email/test/helpers/build-test-app';
import { batchBody, connectDb, makeEligible, VerifiedPublisher } from '../services/enrollment/test/helpers/build-test-app';
import { person } from '../services/intake/test/helpers/build-test-app';
import { buildServices, closeServices, type ServiceUnderTest } from './helpers/services';
import { casesFor, DocumentChecker, METHODS, type Answer, type Case, type Fixtures } from './openapi/conformance';

/*
 * The documents tell the truth (decision 0019). Every operation every service documents is called with a
 * request the document calls valid and with that request broken in every way the document can say
 * (test/openapi/conformance.ts), against the services built in this process on the real PostgreSQL,
 * Redis and Kafka. Every answer's status must be in the document, its body must match the schema of
 * that status (ajv, the document's own components), Retry-After and Location must be there where
 * promised; an invalid request must be refused with a 4xx, a valid one never with VALIDATION_FAILED.
 */

type Json = Record<string, any>;

/** Creating calls first, reading next, giving back last: a DELETE must not take away what a GET reads. */
const ORDER: Record<string, number> = { post: 0, put: 1, patch: 1, get: 2, delete: 3 };

interface Outcome {
  service: string;
  op: string;
  label: string;
  status: number;
  problems: string[];
}

const answerOf = (r: { statusCode: number; headers: Answer['headers']; body: string }): Answer => ({
  statusCode: r.statusCode,
  headers: r.headers,
  body: r.body,
});

describe('OpenAPI conformance: every documented operation, valid and invalid requests, against the real services', () => {
  let services: ServiceUnderTest[] = [];
  const checkers = new Map<string, DocumentChecker>();
  let fixtures: Fixtures;
  let publisher: VerifiedPublisher;
  let db: Awaited<ReturnType<typeof connectDb>>;
  let maildev: MailDev;
  const outcomes: Outcome[] = [];

  const service = (name: string) => services.find((s) => s.name === name)!;

  beforeAll(async () => {
    maildev = await startMailDev();
    services = await buildServices({ smtpUrl: maildev.smtpUrl });
    for (const s of services) checkers.set(s.name, new DocumentChecker(s.name, s.app.swagger() as unknown as Json));

    // Things that exist: a registration the email service has received (its session opens the applicant routes),
    // eligible for enrollment, and an open batch.
    const applicant = person();
    const reg = await service('intake').app.inject({ method: 'POST', url: '/v1/registrations', payload: applicant });
    expect(reg.statusCode).toBe(202);
    const registrationId = reg.json().registrationId as string;
    await waitFor(
      async () => ((await service('email').app.inject({ url: `/v1/email-verifications/${registrationId}` })).statusCode === 200 ? true : undefined),
      30_000,
      'the email service to receive the registration',
    );
    // The code from the mail: the confirm the document calls valid verifies the address.
    const [mail] = await mailsTo(maildev, applicant.email);
    const enrollment = service('enrollment');
    const batch = batchBody({ quota: 5 });
    const created = await enrollment.app.inject({
      method: 'POST',
      url: '/v1/admin/batches',
      headers: { authorization: `Bearer ${enrollment.adminToken}` },
      payload: batch,
    });
    expect(created.statusCode).toBe(201);
    publisher = new VerifiedPublisher();
    await publisher.connect();
    db = await connectDb();
    await makeEligible(publisher, db, enrollment.schema!, [{ registrationId, nikIndex: randomUUID(), provinceCode: '32' }]);

    fixtures = {
      values: { id: registrationId, registrationId, batchId: batch.batchId, code: codeOf(mail!) },
      session: (id) => sessionFor(id),
      bodyLimit: 0,
      credentials: {
        adminBearer: () => ({ authorization: `Bearer ${enrollment.adminToken}` }),
        registryBearer: () => ({ authorization: `Bearer ${service('registry-sim').adminToken}` }),
      },
    };
  }, 120_000);

  afterAll(async () => {
    await publisher?.close();
    await db?.end();
    await closeServices(services);
    await maildev?.stop();
  });

  it('answers every generated request as its document says', async () => {
    for (const s of services) {
      const checker = checkers.get(s.name)!;
      const ops = Object.entries(checker.doc.paths as Record<string, Json>)
        .flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((method) => ({ method, path })))
        .sort((a, b) => ORDER[a.method]! - ORDER[b.method]!);
      for (const { method, path } of ops) {
        const cases: Case[] = casesFor(checker, method, path, { ...fixtures, bodyLimit: s.app.initialConfig.bodyLimit! });
        for (const c of cases) {
          const res = await s.app.inject({
            method: c.method as 'GET',
            url: c.url,
            headers: c.headers,
            ...(c.payload === undefined ? {} : { payload: c.payload }),
          });
          const problems = checker.check(method, path, answerOf(res));
          const code = (() => {
            try {
              return (JSON.parse(res.body) as { code?: string }).code;
            } catch {
              return undefined;
            }
          })();
          if (res.statusCode >= 500) problems.push(`answered ${res.statusCode} ${res.body.slice(0, 120)}`);
          if (c.expect === 'invalid' && !(res.statusCode >= 400 && res.statusCode < 500)) problems.push(`an invalid request was answered ${res.statusCode}`);
          if (c.expect === 'valid' && code === 'VALIDATION_FAILED') problems.push(`a request the document calls valid was refused: ${res.body.slice(0, 300)}`);
          outcomes.push({ service: s.name, op: `${method.toUpperCase()} ${path}`, label: c.label, status: res.statusCode, problems });
        }
      }
    }

    const coverage = new Map<string, Set<number>>();
    for (const o of outcomes) coverage.set(`${o.service} ${o.op}`, (coverage.get(`${o.service} ${o.op}`) ?? new Set()).add(o.status));
    // What was reached, per operation (the document lists more: outages, limits, states this run does not make).
    console.log(
      `conformance: ${outcomes.length} requests over ${coverage.size} operations\n` +
        [...coverage].map(([op, statuses]) => `  ${op}: ${[...statuses].sort().join(' ')}`).join('\n'),
    );

    const failures = outcomes.filter((o) => o.problems.length > 0).map((o) => `${o.service} ${o.op} [${o.label}] → ${o.status}: ${o.problems.join('; ')}`);
    expect(failures).toEqual([]);
    // Every documented operation was called, and each answered a success at least once, except those whose
    // success needs a state no request here can make: a sign-in code mailed a moment later, a registry
    // rejection, a NIK check; a resend answers 202, 409 or 429 by where the mail sender stands.
    const documented = services.reduce(
      (n, s) => n + Object.values(checkers.get(s.name)!.doc.paths as Record<string, Json>).reduce((m, item) => m + METHODS.filter((k) => item[k]).length, 0),
      0,
    );
    expect(coverage.size).toBe(documented);
    const mayNotSucceed = new Set([
      'email POST /v1/email-verifications/{registrationId}/resend',
      'email POST /v1/sessions/verify',
      'intake POST /v1/registrations/{id}/nik',
      'nik-verification GET /v1/nik-verifications/{registrationId}',
    ]);
    const noSuccess = [...coverage].filter(([op, st]) => !mayNotSucceed.has(op) && ![...st].some((x) => x < 300)).map(([op]) => op);
    expect(noSuccess).toEqual([]);
    // And each answered a refusal, but the parameterless GETs that cannot be refused.
    const noRefusal = [...coverage].filter(([, st]) => ![...st].some((x) => x >= 400 && x < 500)).map(([op]) => op);
    expect(noRefusal.sort()).toEqual(['enrollment GET /v1/batches', 'nik-verification GET /v1/nik-verifications/backlog', 'registry-sim GET /_sim/stats']);
  }, 300_000);

  it('catches an answer its document does not list: a status, or a body that does not match', async () => {
    const intake = service('intake');
    const doc = JSON.parse(JSON.stringify(checkers.get('intake')!.doc)) as Json;
    const op = doc.paths['/v1/registrations/{id}'].get;
    delete op.responses['404'];
    const narrowed = new DocumentChecker('intake-without-404', doc);
    const unknown = randomUUID();
    const res = await intake.app.inject({ url: `/v1/registrations/${unknown}`, headers: { authorization: `Bearer ${sessionFor(unknown)}` } });
    expect(res.statusCode).toBe(404);
    expect(checkers.get('intake')!.check('get', '/v1/registrations/{id}', answerOf(res))).toEqual([]);
    expect(narrowed.check('get', '/v1/registrations/{id}', answerOf(res))).toEqual([expect.stringMatching(/^status 404 is not documented/)]);

    // The same answer against a problem body that would need a field the server does not send.
    doc.components.schemas.Problem.required = [...doc.components.schemas.Problem.required, 'title'];
    doc.paths['/v1/registrations/{id}'].get.responses['404'] = checkers.get('intake')!.doc.paths['/v1/registrations/{id}'].get.responses['404'];
    const stricter = new DocumentChecker('intake-stricter', doc);
    expect(stricter.check('get', '/v1/registrations/{id}', answerOf(res))).toEqual([expect.stringContaining("must have required property 'title'")]);
    // And a promised header that is not there.
    const limited = { ...answerOf(res), statusCode: 429 };
    expect(checkers.get('intake')!.check('post', '/v1/registrations', { ...limited, body: JSON.stringify({ code: 'RATE_LIMITED', message: 'x' }) })).toEqual(
      expect.arrayContaining(['429: header Retry-After is documented but missing']),
    );
  });
});
