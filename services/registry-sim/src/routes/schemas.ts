import { z } from 'zod';

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
  .meta({ format: 'date', examples: ['1997-09-06'] });

export const verifyRequest = z
  .object({
    nik: z.string().min(1).max(32),
    fullName: z.string().min(1).max(200),
    birthDate: isoDate,
  })
  .meta({ title: 'VerifyPersonRequest', examples: [{ nik: '3204110609970001', fullName: 'Budi Santoso', birthDate: '1997-09-06' }] });
export const verifyResponse = z
  .object({ result: z.enum(['MATCH', 'NOT_FOUND', 'DATA_MISMATCH', 'INACTIVE']) })
  .meta({ title: 'VerifyPersonResult', examples: [{ result: 'MATCH' }] });

export const loadPeopleRequest = z
  .object({
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
  })
  .meta({ examples: [{ people: [{ nik: '3204110609970001', fullName: 'Budi Santoso', birthDate: '1997-09-06' }], absent: ['3204110609970002'] }] });
export const loadPeopleResponse = z.object({ loaded: z.number(), absent: z.number(), people: z.number() });

export const faultsRequest = z
  .object({
    errorRate: z.number().min(0).max(1).optional(),
    outage: z.boolean().optional(),
    /** null clears the override. */
    latencyMs: z.number().int().min(0).max(120_000).nullable().optional(),
  })
  .meta({ examples: [{ errorRate: 0, outage: false, latencyMs: null }] });
export const faultsResponse = z.object({ errorRate: z.number(), outage: z.boolean(), latencyMs: z.number().optional() });

const count = z.number().int();
/** `GET /_sim/calls`: registry verifications per attempt (the Idempotency-Key; decision 0024). */
export const callsResponse = z
  .object({
    attempts: count.describe('Attempts (distinct keys) seen'),
    verified: count.describe('Verifications performed (each charged to the quota)'),
    replayed: count.describe('Calls answered from the ledger (a repeated key, not charged)'),
    maxVerifiedPerAttempt: count.describe('The most verifications one attempt cost'),
    attemptsVerifiedTwice: count.describe('Attempts verified more than once'),
  })
  .meta({ title: 'SimCalls' });

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
