import { timingSafeEqual } from 'node:crypto';
import type { App } from '@gelombang/platform';
import type { PopulationRegistry } from '../domain/registry';
import { REGISTRY_QUOTA_EXCEEDED, REGISTRY_UNAUTHORIZED, REGISTRY_UNAVAILABLE } from '../errors';
import { errorBody, verifyRequest, verifyResponse } from './schemas';

export function sameToken(header: string | undefined, token: Buffer): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  return given.length === token.length && timingSafeEqual(given, token);
}

/** The partner's API as we see it: auth, then the per-second quota, then faults, then the answer. */
export async function populationRoutes(app: App, deps: { registry: PopulationRegistry; token: string; onAnswer: (answer: string) => void }) {
  const token = Buffer.from(deps.token);
  app.post(
    '/v1/population/verify',
    {
      schema: {
        summary: 'Check a person against the population registry',
        description: 'Needs `Authorization: Bearer <token>`. Over the per-second quota: 429. Bodies are never logged.',
        body: verifyRequest,
        response: { 200: verifyResponse, 400: errorBody, 401: errorBody, 429: errorBody, 503: errorBody },
      },
      // Authentication before the body is validated: an anonymous caller learns nothing.
      onRequest: async (req) => {
        if (!sameToken(req.headers.authorization, token)) {
          deps.registry.noteUnauthorized();
          deps.onAnswer('unauthorized');
          throw REGISTRY_UNAUTHORIZED({ headers: { 'www-authenticate': 'Bearer' } });
        }
        if (!deps.registry.admit()) {
          deps.onAnswer('over_quota');
          throw REGISTRY_QUOTA_EXCEEDED({ headers: { 'retry-after': '1' } });
        }
      },
    },
    async (req) => {
      if (deps.registry.failsNow()) {
        deps.onAnswer('fault');
        throw REGISTRY_UNAVAILABLE({ headers: { 'retry-after': '1' } });
      }
      const ms = deps.registry.latencyMs();
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      // The caller's attempt id: a repeated one is answered from the ledger, not verified again (decision 0024).
      const key = req.headers['idempotency-key'];
      const { result, replayed } = deps.registry.verifyOnce(req.body, typeof key === 'string' && key.length > 0 && key.length <= 200 ? key : undefined);
      deps.onAnswer(replayed ? 'replayed' : result);
      return { result };
    },
  );
}
