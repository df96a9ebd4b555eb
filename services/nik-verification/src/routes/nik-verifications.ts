import { z } from 'zod';
import { applicantOnlyDoc, nikRejectionReason, problems, PUBLIC } from '@gelombang/contracts';
import { applicantOnly, type App } from '@gelombang/platform';
import type { ChecksRepository } from '../data-access/checks-repository';
import type { BreakerState } from '../data-access/registry-client';
import { NIK_VERIFICATION_NOT_FOUND } from '../errors';

export const verificationView = z
  .object({
    registrationId: z.uuid(),
    attempt: z.number().int().positive(),
    status: z.enum(['queued', 'verified', 'rejected']),
    reason: nikRejectionReason.optional(),
    /** Rejected only: whether the applicant may correct the NIK and try again. */
    correctable: z.boolean().optional(),
    checkedAt: z.iso.datetime({ offset: true }).optional(),
  })
  .meta({
    title: 'NikVerification',
    examples: [
      {
        registrationId: '0193a5c2-7d4e-7c3a-9f1e-2b6d8c4a1e90',
        attempt: 1,
        status: 'rejected',
        reason: 'NIK_NOT_FOUND',
        correctable: true,
        checkedAt: '2026-12-04T08:01:00.000Z',
      },
    ],
  });

export const backlogView = z
  .object({
    queued: z.number().int(),
    /** Queued checks whose time has come (the others wait out a back-off). */
    due: z.number().int(),
    oldestQueuedAgeSeconds: z.number().nullable(),
    breaker: z.enum(['closed', 'open', 'half_open']),
  })
  .meta({ title: 'NikVerificationBacklog', examples: [{ queued: 1200, due: 300, oldestQueuedAgeSeconds: 42.5, breaker: 'closed' }] });

/** GET /v1/nik-verifications/:registrationId (its applicant's) and the operations backlog. */
export async function nikVerificationRoutes(app: App, deps: { repository: ChecksRepository; breakerState: () => BreakerState }) {
  app.get(
    '/v1/nik-verifications/backlog',
    {
      schema: {
        summary: 'Queue of checks waiting for the registry (operations)',
        description:
          'How many checks wait, how old the oldest is, and whether the registry breaker is open. Who may call: anyone (counts only, no personal data).',
        operationId: 'getNikVerificationBacklog',
        tags: ['nik-verifications'],
        security: PUBLIC,
        response: { 200: backlogView },
      },
    },
    async () => {
      const b = await deps.repository.backlog();
      return {
        queued: b.queued,
        due: b.due,
        oldestQueuedAgeSeconds: b.oldestQueuedAt ? Math.max(0, (Date.now() - b.oldestQueuedAt.getTime()) / 1000) : null,
        breaker: deps.breakerState(),
      };
    },
  );

  const applicant = applicantOnlyDoc();
  app.get(
    '/v1/nik-verifications/:registrationId',
    {
      ...applicantOnly(app, { owner: (req) => (req.params as { registrationId: string }).registrationId }),
      schema: {
        summary: 'NIK check of a registration (its latest attempt)',
        description: `No personal data: the state, and for a rejection the reason and whether it can be corrected. ${applicant.description}`,
        operationId: 'getNikVerification',
        tags: ['nik-verifications'],
        security: applicant.security,
        params: z.object({ registrationId: z.uuid() }),
        response: { 200: verificationView, ...problems([...applicant.errors, NIK_VERIFICATION_NOT_FOUND]) },
      },
    },
    async (req) => {
      const check = await deps.repository.latest(req.params.registrationId);
      if (!check) throw NIK_VERIFICATION_NOT_FOUND();
      return {
        registrationId: check.registrationId,
        attempt: check.attempt,
        status: check.state,
        ...(check.reason ? { reason: check.reason } : {}),
        ...(check.correctable === null ? {} : { correctable: check.correctable }),
        ...(check.checkedAt ? { checkedAt: check.checkedAt.toISOString() } : {}),
      };
    },
  );
}
