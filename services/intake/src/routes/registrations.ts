import { z } from 'zod';
import {
  applicantOnlyDoc,
  errorBody,
  FIELD_MESSAGES,
  nikCorrectionAccepted,
  nikCorrectionRequest,
  registrationAccepted,
  registrationRequest,
  registrationView,
  type RegistrationRules,
} from '@gelombang/contracts';
import {
  applicantOnly,
  clientKey,
  GENERIC_FIELD_MESSAGES,
  markUnlogged,
  pickLang,
  PublishTimeoutError,
  RATE_LIMITED,
  SERVICE_UNAVAILABLE,
  VALIDATION_FAILED,
  type App,
  type Decision,
  type PiiCipher,
} from '@gelombang/platform';
import {
  INTAKE_EMAIL_ALREADY_REGISTERED,
  INTAKE_IDEMPOTENCY_KEY_IN_PROGRESS,
  INTAKE_IDEMPOTENCY_KEY_INVALID,
  INTAKE_IDEMPOTENCY_KEY_REUSED,
  INTAKE_NIK_ALREADY_REGISTERED,
  INTAKE_NIK_CORRECTION_LIMIT_REACHED,
  INTAKE_NIK_CORRECTION_NOT_ALLOWED,
  INTAKE_NIK_CORRECTION_UNCHANGED,
  INTAKE_NIK_NOT_CORRECTABLE,
  INTAKE_REGISTRATION_NOT_FOUND,
} from '../errors';
import { correctNik, type CorrectNikDeps } from '../domain/correct-nik';
import { register, type RegisterPorts } from '../domain/register';
import type { RegistrationsRepository } from '../data-access/registrations-repository';
import type { IntakeConfig } from '../config';
import type { IntakeMetrics } from '../metrics';
import { isDryRun, type DryRun } from '../warm-up';

export interface RegistrationRoutesOptions {
  config: Pick<IntakeConfig, 'RETRY_AFTER_SEC' | 'RATE_LIMIT_CLIENT_BURST' | 'INTAKE_MAX_NIK_CORRECTIONS' | 'INTAKE_CONFLICT_ANSWER'>;
  rules: RegistrationRules;
  cipher: PiiCipher;
  repository: RegistrationsRepository;
  metrics: IntakeMetrics;
  /** The boot warm-up's in-process requests (see warm-up.ts): other ports, no counters, no logs. */
  dryRun?: DryRun;
}

/** What the handlers below use: the domain's ports over the app's claims, producer and relay, timed. */
function routeDeps(app: App, o: RegistrationRoutesOptions) {
  const { cipher, repository, rules, metrics: m } = o;
  const ports: RegisterPorts = {
    cipher,
    claim: (i, client) => m.timeClaim(app.claims.claim(i, client)),
    complete: (i, masked) => app.claims.complete(i, masked),
    markUncertain: (i) => app.claims.markUncertain(i),
    publish: (message) => m.timePublish(app.producer.publish(message)),
    conflictAnswer: o.config.INTAKE_CONFLICT_ANSWER,
  };
  const correction: CorrectNikDeps = {
    cipher,
    repository,
    claimNik: (nikIndex, id) => app.claims.claimNik(nikIndex, id),
    releaseNik: (nikIndex, id) => app.claims.releaseNik(nikIndex, id),
    maxCorrections: o.config.INTAKE_MAX_NIK_CORRECTIONS,
    conflictAnswer: o.config.INTAKE_CONFLICT_ANSWER,
    rules,
    onCommitted: () => app.outbox.wake(),
  };
  return {
    rules,
    ports,
    correction,
    repository,
    dryRun: o.dryRun,
    retryAfterSec: o.config.RETRY_AFTER_SEC,
    /** The client bucket's burst, for x-ratelimit-limit. */
    clientBurst: o.config.RATE_LIMIT_CLIENT_BURST,
    /** Per client, from the same buckets as a registration's admission (@fastify/rate-limit's options). */
    rateLimit: { max: o.config.RATE_LIMIT_CLIENT_BURST, timeWindow: 1000, keyGenerator: (req: { ip: string }) => clientKey(req.ip) },
    /**
     * Admission for a registration refused before it reached its claim (invalid body, bad header): the
     * client's bucket only, so bad requests count against their sender but spend none of the global
     * capacity that real applicants need.
     */
    admit: (client: string): Promise<Decision> => m.timeAdmission(app.claims.admit(client)),
    onRejected: (code: string) => m.rejected.inc({ code }),
    onAccepted: () => m.accepted.inc(),
    onConflicted: (reason: string) => m.conflicted.inc({ reason }),
    /** Server time of every answered registration request (not the boot warm-up's), in ms. */
    onAnswered: m.observeTotal,
  };
}

/** Reasons after which the applicant may send a corrected NIK (NIK_INACTIVE is not one). */
const CORRECTABLE_REASONS = new Set(['NIK_NOT_FOUND', 'DATA_MISMATCH', 'NIK_ALREADY_HELD']);

const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/;

declare module 'fastify' {
  interface FastifyRequest {
    /** This registration's admission was taken (by its claim, or refused before it): the error handler takes none. */
    intakeAdmitted: boolean;
    /** The body as sent, before validation normalised it: it decides "the same request" for Idempotency-Key. */
    intakeRawBody: unknown;
    /** The key its client's limits count under (clientKey of req.ip: a proxy-chain parse), taken once. */
    intakeClient: string;
  }
}

/** The registration routes: POST and GET /v1/registrations, POST /v1/registrations/:id/nik. */
export async function registrationRoutes(app: App, opts: RegistrationRoutesOptions) {
  const deps = routeDeps(app, opts);
  app.decorateRequest('intakeAdmitted', false);
  app.decorateRequest('intakeRawBody', undefined);
  app.decorateRequest('intakeClient', '');
  const body = registrationRequest(deps.rules);
  /** The headers @fastify/rate-limit gives the other routes, from one admission decision. */
  const admissionHeaders = (d: Decision): Record<string, string> => ({
    'x-ratelimit-limit': String(deps.clientBurst),
    'x-ratelimit-remaining': String(d.allowed ? Math.max(0, Math.min(d.remaining, deps.clientBurst)) : 0),
    'x-ratelimit-reset': String(Math.ceil((d.allowed ? d.resetMs : d.retryAfterMs) / 1000)),
    ...(d.allowed ? {} : { 'retry-after': String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))) }),
  });
  /**
   * Clients refused admission, until their Retry-After: their next requests are refused before the body
   * is read (as @fastify/rate-limit did for every request), without Redis — a refused take spends no
   * token, so the answer is the one Redis would give. Per process; bounded (starts over past 100,000).
   */
  const refusedUntil = new Map<string, number>();
  const limited = (d: Decision, client?: string) => {
    if (client !== undefined && d.retryAfterMs > 0) {
      if (refusedUntil.size >= 100_000) refusedUntil.clear();
      refusedUntil.set(client, Date.now() + d.retryAfterMs);
    }
    deps.onRejected('RATE_LIMITED');
    return RATE_LIMITED({ headers: admissionHeaders(d) });
  };

  app.post(
    '/v1/registrations',
    {
      // Admission is not the rate-limit plugin's here: it is decided in the claim's Redis round trip
      // (one round trip per registration instead of two), or below for requests that never get there.
      onRequest: async (req) => {
        req.intakeClient = clientKey(req.ip);
        const until = refusedUntil.get(req.intakeClient);
        if (until === undefined) return;
        const wait = until - Date.now();
        if (wait <= 0) return void refusedUntil.delete(req.intakeClient);
        if (isDryRun(req, deps.dryRun)) return;
        req.intakeAdmitted = true;
        throw limited({ allowed: false, remaining: 0, retryAfterMs: wait, resetMs: wait, source: 'local' });
      },
      // Fastify awaits an error handler's promise (its type says void); what this one throws is answered
      // by the service's error handler.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      errorHandler: async (err, req, reply) => {
        if (!req.intakeAdmitted && !isDryRun(req, deps.dryRun)) {
          req.intakeAdmitted = true;
          const d = await deps.admit(req.intakeClient);
          if (!d.allowed) throw limited(d, req.intakeClient);
          reply.headers(admissionHeaders(d));
        }
        throw err;
      },
      onResponse: async (req, reply) => {
        if (!isDryRun(req, deps.dryRun)) deps.onAnswered(reply.elapsedTime);
      },
      // Kept before validation replaces the body with its normalised form.
      preValidation: async (req) => {
        req.intakeRawBody = req.body;
        if (isDryRun(req, deps.dryRun)) markUnlogged(req);
      },
      schema: {
        summary: 'Register an applicant',
        description:
          'Answers 202 only after the registration.submitted.v1 event is stored by Kafka (acks=all). ' +
          'Send an Idempotency-Key to retry safely. Messages follow Accept-Language (id default, en).',
        headers: z.object({ 'idempotency-key': z.string().optional(), 'accept-language': z.string().optional() }),
        body,
        response: { 202: registrationAccepted, 400: errorBody, 409: errorBody, 413: errorBody, 415: errorBody, 422: errorBody, 429: errorBody, 503: errorBody },
      },
    },
    async (req, reply) => {
      const key = req.headers['idempotency-key'];
      if (key !== undefined && !IDEMPOTENCY_KEY_RE.test(key)) throw INTAKE_IDEMPOTENCY_KEY_INVALID();
      const dryRun = isDryRun(req, deps.dryRun);
      // Kafka known down (the producer's broker watch): refused before anything is claimed, at once
      // rather than after the ack timeout; readiness fails meanwhile, so balancers stop sending.
      if (!dryRun && !app.producer.isAvailable) {
        req.intakeAdmitted = true; // refused for our outage, not the client's doing: no token spent
        deps.onRejected('SERVICE_UNAVAILABLE');
        throw SERVICE_UNAVAILABLE({ headers: { 'retry-after': String(deps.retryAfterSec) } });
      }
      let outcome;
      // From here admission is the claim's (or, for a dry run, nobody's): the error handler takes none.
      req.intakeAdmitted = true;
      try {
        // The raw body (before normalisation) decides "same request" for Idempotency-Key.
        outcome = await register(dryRun ? deps.dryRun!.ports : deps.ports, req.body, req.intakeRawBody ?? req.body, key, req.intakeClient);
      } catch (e) {
        // Admission was spent before the publish failed: the answer says so, as every other does.
        const admission = (e as { admission?: Decision } | undefined)?.admission;
        if (admission && !dryRun) reply.headers(admissionHeaders(admission));
        if (e instanceof PublishTimeoutError || (e as Error)?.name?.startsWith('Kafka')) {
          deps.onRejected('SERVICE_UNAVAILABLE');
          throw SERVICE_UNAVAILABLE({ headers: { 'retry-after': String(deps.retryAfterSec) } });
        }
        throw e;
      }
      if (outcome.admission && !dryRun) reply.headers(admissionHeaders(outcome.admission));
      switch (outcome.kind) {
        case 'limited':
          throw limited(outcome.admission!, req.intakeClient);
        case 'duplicate':
          deps.onRejected(outcome.field === 'nik' ? 'INTAKE_NIK_ALREADY_REGISTERED' : 'INTAKE_EMAIL_ALREADY_REGISTERED');
          throw outcome.field === 'nik' ? INTAKE_NIK_ALREADY_REGISTERED() : INTAKE_EMAIL_ALREADY_REGISTERED();
        case 'idempotency_conflict':
          throw INTAKE_IDEMPOTENCY_KEY_REUSED();
        case 'idempotency_in_progress':
          throw INTAKE_IDEMPOTENCY_KEY_IN_PROGRESS({ headers: { 'retry-after': '1' } });
        case 'accepted':
          reply.header('location', `/v1/registrations/${outcome.registrationId}`);
          if (outcome.replayed) reply.header('idempotent-replayed', 'true');
          if (dryRun) return reply.status(202).send({ registrationId: outcome.registrationId, status: 'pending_email_verification' as const });
          if (!outcome.replayed) deps.onAccepted();
          if (outcome.conflict) deps.onConflicted(outcome.conflict);
          req.log.info({ registrationId: outcome.registrationId, replayed: outcome.replayed }, 'registration accepted');
          return reply.status(202).send({ registrationId: outcome.registrationId, status: 'pending_email_verification' as const });
      }
    },
  );

  /** The registration a request acts on: its path's (checked against the session after validation). */
  const pathId = (req: { params: unknown }) => (req.params as { id: string }).id;
  const applicant = applicantOnlyDoc();
  app.get(
    '/v1/registrations/:id',
    {
      ...applicantOnly(app, { owner: pathId }),
      schema: {
        summary: 'Status of a registration',
        description: `No personal data beyond a masked email. ${applicant.description}`,
        params: z.object({ id: z.uuid() }),
        response: { 200: registrationView, 400: errorBody, ...applicant.responses, 404: errorBody },
      },
    },
    async (req) => {
      const stored = await deps.repository.view(req.params.id);
      if (stored) {
        return {
          registrationId: stored.registrationId,
          status: stored.status as z.infer<typeof registrationView>['status'],
          emailMasked: stored.emailMasked,
          ...(stored.reason ? { reason: stored.reason } : {}),
          nikAttempt: stored.nikAttempt,
          ...(stored.status === 'nik_rejected' ? { nikCorrectable: CORRECTABLE_REASONS.has(stored.reason ?? '') } : {}),
          createdAt: stored.createdAt.toISOString(),
          updatedAt: stored.updatedAt.toISOString(),
        };
      }
      // Accepted by Kafka but not yet projected into PostgreSQL: still a real registration.
      const accepted = await app.claims.accepted(req.params.id).catch(() => undefined);
      if (accepted) {
        return {
          registrationId: req.params.id,
          status: 'pending_email_verification' as const,
          emailMasked: accepted.emailMasked,
          createdAt: accepted.submittedAt,
          updatedAt: accepted.submittedAt,
        };
      }
      throw INTAKE_REGISTRATION_NOT_FOUND();
    },
  );

  const freshApplicant = applicantOnlyDoc(true);
  app.post(
    '/v1/registrations/:id/nik',
    {
      // The session's onRequest hook comes before the rate limiter's (which @fastify/rate-limit appends).
      ...applicantOnly(app, { owner: pathId, fresh: true }),
      config: { rateLimit: deps.rateLimit },
      schema: {
        summary: 'Correct a NIK the population registry rejected',
        description:
          'Allowed while the registration is nik_rejected with a correctable reason (NIK_NOT_FOUND, DATA_MISMATCH), ' +
          'a limited number of times. The corrected NIK must match the birth date given at registration and belong to ' +
          'no other registration. 202 means stored durably; a new registry check follows (status nik_resubmitted). ' +
          freshApplicant.description,
        params: z.object({ id: z.uuid() }),
        body: nikCorrectionRequest,
        response: { 202: nikCorrectionAccepted, 400: errorBody, ...freshApplicant.responses, 404: errorBody, 409: errorBody, 429: errorBody },
      },
    },
    async (req, reply) => {
      const outcome = await correctNik(deps.correction, req.params.id, req.body.nik);
      switch (outcome.kind) {
        case 'accepted':
          req.log.info({ registrationId: req.params.id, nikAttempt: outcome.attempt }, 'nik correction accepted');
          return reply.status(202).send({ registrationId: req.params.id, status: 'nik_resubmitted' as const, nikAttempt: outcome.attempt });
        case 'invalid': {
          const lang = pickLang(req.headers['accept-language']);
          const errors = outcome.codes.map((code) => ({ field: 'nik', code, message: (FIELD_MESSAGES[code] ?? GENERIC_FIELD_MESSAGES.FIELD_INVALID!)[lang] }));
          throw VALIDATION_FAILED({ errors });
        }
        case 'not_found':
          throw INTAKE_REGISTRATION_NOT_FOUND();
        case 'not_allowed':
          throw INTAKE_NIK_CORRECTION_NOT_ALLOWED();
        case 'not_correctable':
          throw INTAKE_NIK_NOT_CORRECTABLE();
        case 'limit_reached':
          throw INTAKE_NIK_CORRECTION_LIMIT_REACHED();
        case 'unchanged':
          throw INTAKE_NIK_CORRECTION_UNCHANGED();
        case 'duplicate':
          deps.onRejected('INTAKE_NIK_ALREADY_REGISTERED');
          throw INTAKE_NIK_ALREADY_REGISTERED();
      }
    },
  );
}
