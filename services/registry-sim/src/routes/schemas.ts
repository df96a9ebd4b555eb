import { z } from 'zod';

export const errorBody = z.object({
  code: z.string(),
  message: z.string(),
  errors: z.array(z.object({ field: z.string(), code: z.string(), message: z.string() })).optional(),
});

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD');

export const verifyRequest = z.object({
  nik: z.string().min(1).max(32),
  fullName: z.string().min(1).max(200),
  birthDate: isoDate,
});
export const verifyResponse = z.object({ result: z.enum(['MATCH', 'NOT_FOUND', 'DATA_MISMATCH', 'INACTIVE']) });

export const loadPeopleRequest = z.object({
  people: z
    .array(
      z.object({
        nik: z.string().min(1).max(32),
        fullName: z.string().min(1).max(200),
        birthDate: isoDate,
        status: z.enum(['active', 'inactive']).optional(),
      }),
    )
    .max(200_000),
  absent: z.array(z.string().min(1).max(32)).max(200_000).optional(),
});
export const loadPeopleResponse = z.object({ loaded: z.number(), absent: z.number(), people: z.number() });

export const faultsRequest = z.object({
  errorRate: z.number().min(0).max(1).optional(),
  outage: z.boolean().optional(),
  /** null clears the override. */
  latencyMs: z.number().int().min(0).max(120_000).nullable().optional(),
});
export const faultsResponse = z.object({ errorRate: z.number(), outage: z.boolean(), latencyMs: z.number().optional() });

const count = z.number().int();
export const statsResponse = z.object({
  requests: count,
  answered: count,
  overQuota: count,
  maxInOneSecond: count,
  byResult: z.object({ MATCH: count, NOT_FOUND: count, DATA_MISMATCH: count, INACTIVE: count }),
  unauthorized: count,
  faulted: count,
  mode: z.enum(['open', 'strict']),
  quotaPerSec: count,
  people: count,
});
