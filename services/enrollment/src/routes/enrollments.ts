import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { applicantOnlyDoc, problems, withHeaders } from '@gelombang/contracts';
import { AppError, applicantOnly, RATE_LIMITED, SERVICE_UNAVAILABLE, type App } from '@gelombang/platform';
import type { Enrollment, EnrollmentsRepository } from '../data-access/enrollments-repository';
import { enroll, type EnrollPorts } from '../domain/enroll';
import { withdrawnEvents } from '../domain/events';
import {
  ENROLLMENT_ALREADY_ENROLLED,
  ENROLLMENT_BATCH_CLOSED,
  ENROLLMENT_BATCH_FULL,
  ENROLLMENT_BATCH_NOT_FOUND,
  ENROLLMENT_BATCH_NOT_OPEN,
  ENROLLMENT_NOT_ELIGIBLE,
  ENROLLMENT_NOT_FOUND,
} from '../errors';
import { enrollmentCreated, enrollmentView, enrollRequest } from './schemas';

export interface EnrollmentRoutesDeps {
  ports: EnrollPorts;
  enrollments: EnrollmentsRepository;
  /** After a withdrawal committed: lower the batch's full flag. */
  seatFreed: (batchId: string) => Promise<void>;
  retryAfterSec: number;
  retryJitterSec: number;
  /** outcome: enrolled | replayed | withdrawn | an error code; answeredBy: where a refusal was decided. */
  onOutcome: (outcome: string, answeredBy?: string) => void;
}

/*
 * PostgreSQL out of reach (pool wait timed out, connection lost, server shutting down or over its
 * connection limit): the client is told to come back, nothing was taken.
 */
function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string' && (/^08/.test(e.code) || ['57P01', '57P02', '57P03', '53300', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].includes(e.code)))
    return true;
  return /timeout exceeded when trying to connect|Connection terminated/i.test(e?.message ?? '');
}

const toView = (e: Enrollment): z.infer<typeof enrollmentView> => ({
  enrollmentId: e.enrollmentId,
  registrationId: e.registrationId,
  batchId: e.batchId,
  status: e.status,
  enrolledAt: e.enrolledAt.toISOString(),
  ...(e.endedAt ? { endedAt: e.endedAt.toISOString() } : {}),
});

export async function enrollmentRoutes(app: App, deps: EnrollmentRoutesDeps) {
  const unavailable = (e: unknown) => {
    if (e instanceof AppError || !isUnavailable(e)) return e;
    deps.onOutcome('SERVICE_UNAVAILABLE');
    return SERVICE_UNAVAILABLE({ headers: { 'retry-after': String(deps.retryAfterSec) } });
  };

  const applicant = applicantOnlyDoc();
  app.post(
    '/v1/enrollments',
    {
      // The body's registrationId: read in preHandler, once the body is validated.
      ...applicantOnly(app, { owner: (req) => (req.body as { registrationId: string }).registrationId }),
      schema: {
        summary: 'Take a seat in a batch',
        description:
          '201 with the new enrollment; the same request again answers 200 with the same enrollment. ' +
          'One person (NIK) holds at most one active seat; a batch never exceeds its quota. 429 with Retry-After while the batch admits no more attempts per second. ' +
          `${applicant.description} 403 is also ENROLLMENT_NOT_ELIGIBLE: the registration has no verified NIK (yet).`,
        operationId: 'createEnrollment',
        tags: ['enrollments'],
        security: applicant.security,
        body: enrollRequest,
        response: {
          200: withHeaders(enrollmentCreated.describe('This registration already holds this seat: the same enrollment'), ['Location']),
          201: withHeaders(enrollmentCreated.describe('Enrolled'), ['Location']),
          ...problems([
            ...applicant.errors,
            ENROLLMENT_NOT_ELIGIBLE,
            ENROLLMENT_BATCH_NOT_FOUND,
            ENROLLMENT_BATCH_NOT_OPEN,
            ENROLLMENT_BATCH_CLOSED,
            ENROLLMENT_BATCH_FULL,
            ENROLLMENT_ALREADY_ENROLLED,
            RATE_LIMITED,
            SERVICE_UNAVAILABLE,
          ]),
        },
      },
    },
    async (req, reply) => {
      const { registrationId, batchId } = req.body;
      const outcome = await enroll(deps.ports, registrationId, batchId).catch((e) => {
        throw unavailable(e);
      });
      switch (outcome.kind) {
        case 'refused':
          deps.onOutcome(outcome.error.code, outcome.answeredBy);
          throw outcome.error();
        case 'throttled': {
          deps.onOutcome('RATE_LIMITED', 'redis');
          // Jitter: a crowd refused in the same second must not come back in the same second.
          const wait = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000)) + randomInt(deps.retryJitterSec + 1);
          throw RATE_LIMITED({ headers: { 'retry-after': String(wait) } });
        }
        case 'enrolled':
          deps.onOutcome(outcome.replayed ? 'replayed' : 'enrolled');
          if (!outcome.replayed) req.log.info({ registrationId, batchId, enrollmentId: outcome.enrollment.enrollmentId }, 'enrolled');
          reply.header('location', `/v1/enrollments/${registrationId}`);
          return reply.status(outcome.replayed ? 200 : 201).send(outcome.enrollment);
      }
    },
  );

  const byRegistration = { params: z.object({ registrationId: z.uuid() }) };
  const pathId = (req: { params: unknown }) => (req.params as { registrationId: string }).registrationId;

  app.get(
    '/v1/enrollments/:registrationId',
    {
      ...applicantOnly(app, { owner: pathId }),
      schema: {
        summary: "A registration's seat: the active one, else its most recent",
        description: applicant.description,
        operationId: 'getEnrollment',
        tags: ['enrollments'],
        security: applicant.security,
        ...byRegistration,
        response: { 200: enrollmentView, ...problems([...applicant.errors, ENROLLMENT_NOT_FOUND]) },
      },
    },
    async (req) => {
      const found = await deps.enrollments.latest(req.params.registrationId);
      if (!found) throw ENROLLMENT_NOT_FOUND();
      return toView(found);
    },
  );

  const freshApplicant = applicantOnlyDoc(true);
  app.delete(
    '/v1/enrollments/:registrationId',
    {
      ...applicantOnly(app, { owner: pathId, fresh: true }),
      schema: {
        summary: 'Withdraw: give the seat back',
        description: freshApplicant.description,
        operationId: 'withdrawEnrollment',
        tags: ['enrollments'],
        security: freshApplicant.security,
        ...byRegistration,
        response: { 200: enrollmentView, ...problems([...freshApplicant.errors, ENROLLMENT_NOT_FOUND, SERVICE_UNAVAILABLE]) },
      },
    },
    async (req) => {
      const ended = await deps.enrollments.withdraw(req.params.registrationId, new Date().toISOString(), withdrawnEvents).catch((e) => {
        throw unavailable(e);
      });
      if (!ended) throw ENROLLMENT_NOT_FOUND();
      await deps.seatFreed(ended.batchId);
      deps.onOutcome('withdrawn');
      req.log.info({ registrationId: ended.registrationId, batchId: ended.batchId, enrollmentId: ended.enrollmentId }, 'withdrawn');
      return toView(ended);
    },
  );
}
