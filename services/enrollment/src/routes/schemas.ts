import { z } from 'zod';

/** Lowercase slug, e.g. "gelombang-31": safe in URLs, metric labels and Redis keys. */
export const batchId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
  .meta({ examples: ['gelombang-31'] })
  .describe('Lowercase letters, digits and dashes, 1–63 characters, e.g. gelombang-31');

export const batchCreateRequest = z
  .strictObject({
    batchId,
    name: z.string().trim().min(1).max(200),
    quota: z.number().int().min(1).max(10_000_000),
    opensAt: z.iso.datetime({ offset: true }),
    closesAt: z.iso.datetime({ offset: true }),
  })
  .refine((b) => Date.parse(b.closesAt) > Date.parse(b.opensAt), { path: ['closesAt'], message: 'closesAt must be after opensAt' })
  .meta({
    title: 'BatchCreateRequest',
    description: 'closesAt must be after opensAt',
    examples: [{ batchId: 'gelombang-31', name: 'Gelombang 31', quota: 50000, opensAt: '2026-12-07T00:00:00+07:00', closesAt: '2030-12-31T23:59:59+07:00' }],
  });

const instant = z.iso.datetime({ offset: true });

export const batchView = z
  .object({
    batchId: z.string(),
    name: z.string(),
    quota: z.number().int(),
    enrolled: z.number().int(),
    seatsLeft: z.number().int(),
    opensAt: instant,
    closesAt: instant,
    status: z.enum(['scheduled', 'open', 'closed']).describe('scheduled: opensAt not reached · open · closed: closesAt passed'),
  })
  .meta({
    title: 'Batch',
    examples: [
      {
        batchId: 'gelombang-31',
        name: 'Gelombang 31',
        quota: 50000,
        enrolled: 1200,
        seatsLeft: 48800,
        opensAt: '2026-12-06T17:00:00.000Z',
        closesAt: '2030-12-31T16:59:59.000Z',
        status: 'open',
      },
    ],
  });

export const batchList = z.object({ batches: z.array(batchView) }).meta({ title: 'BatchList' });

export const enrollRequest = z
  .strictObject({ registrationId: z.uuid(), batchId })
  .meta({ title: 'EnrollRequest', examples: [{ registrationId: '0193a5c2-7d4e-7c3a-9f1e-2b6d8c4a1e90', batchId: 'gelombang-31' }] });

const enrollment = {
  enrollmentId: z.uuid(),
  registrationId: z.uuid(),
  batchId: z.string(),
  enrolledAt: instant,
};
const EXAMPLE = {
  enrollmentId: '0193a5c3-1111-7c3a-9f1e-2b6d8c4a1e90',
  registrationId: '0193a5c2-7d4e-7c3a-9f1e-2b6d8c4a1e90',
  batchId: 'gelombang-31',
  enrolledAt: '2026-12-07T01:02:03.000Z',
};

export const enrollmentCreated = z.object(enrollment).meta({ title: 'EnrollmentCreated', examples: [EXAMPLE] });

export const enrollmentView = z
  .object({
    ...enrollment,
    status: z.enum(['active', 'withdrawn']),
    endedAt: instant.optional().describe('When the seat was given back (withdrawn only)'),
  })
  .meta({ title: 'Enrollment', examples: [{ ...EXAMPLE, status: 'active' }] });
