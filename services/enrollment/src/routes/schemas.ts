import { z } from 'zod';

/** Lowercase slug, e.g. "gelombang-31": safe in URLs, metric labels and Redis keys. */
export const batchId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);

export const batchCreateRequest = z
  .strictObject({
    batchId,
    name: z.string().trim().min(1).max(200),
    quota: z.number().int().min(1).max(10_000_000),
    opensAt: z.iso.datetime({ offset: true }),
    closesAt: z.iso.datetime({ offset: true }),
  })
  .refine((b) => Date.parse(b.closesAt) > Date.parse(b.opensAt), { path: ['closesAt'], message: 'closesAt must be after opensAt' });

export const batchView = z.object({
  batchId: z.string(),
  name: z.string(),
  quota: z.number().int(),
  enrolled: z.number().int(),
  seatsLeft: z.number().int(),
  opensAt: z.string(),
  closesAt: z.string(),
  status: z.enum(['scheduled', 'open', 'closed']),
});

export const batchList = z.object({ batches: z.array(batchView) });

export const enrollRequest = z.strictObject({ registrationId: z.uuid(), batchId });

export const enrollmentCreated = z.object({
  enrollmentId: z.uuid(),
  registrationId: z.uuid(),
  batchId: z.string(),
  enrolledAt: z.string(),
});

export const enrollmentView = enrollmentCreated.extend({
  status: z.enum(['active', 'withdrawn']),
  endedAt: z.string().optional(),
});
