import type { App } from '@gelombang/platform';
import type { PopulationRegistry } from '../domain/registry';
import { REGISTRY_UNAUTHORIZED } from '../errors';
import { sameToken } from './population';
import { faultsRequest, faultsResponse, loadPeopleRequest, loadPeopleResponse, statsResponse } from './schemas';

/** Test and operations controls of the simulator. They exist only here: the real registry has none. */
export async function simRoutes(app: App, deps: { registry: PopulationRegistry; quotaPerSec: number; token: string }) {
  const { registry } = deps;
  const token = Buffer.from(deps.token);
  // Calls per attempt (decision 0024): the partner's credential is asked for, as the real registry's usage report would.
  app.get(
    '/_sim/calls',
    {
      schema: { summary: 'Registry calls per attempt (idempotency key): verified, replayed, the most for one attempt' },
      onRequest: async (req) => {
        if (!sameToken(req.headers.authorization, token)) throw REGISTRY_UNAUTHORIZED({ headers: { 'www-authenticate': 'Bearer' } });
      },
    },
    async () => registry.calls(),
  );
  app.post(
    '/_sim/people',
    { schema: { summary: 'Load people (bulk) and NIKs that must not exist', body: loadPeopleRequest, response: { 200: loadPeopleResponse } } },
    async (req) => ({ ...registry.load(req.body.people, req.body.absent ?? []), people: registry.size }),
  );
  app.post('/_sim/reset', { schema: { summary: 'Forget people, faults and statistics' } }, async (_req, reply) => {
    registry.reset();
    return reply.status(204).send();
  });
  app.post(
    '/_sim/faults',
    { schema: { summary: 'Inject errors, an outage or latency', body: faultsRequest, response: { 200: faultsResponse } } },
    async (req) => {
      const { latencyMs, ...rest } = req.body;
      return registry.setFaults({ ...rest, ...(latencyMs === undefined ? {} : { latencyMs: latencyMs ?? undefined }) });
    },
  );
  app.get('/_sim/stats', { schema: { summary: 'What the simulator saw', response: { 200: statsResponse } } }, async () => ({
    ...registry.stats(),
    mode: registry.mode,
    quotaPerSec: deps.quotaPerSec,
    people: registry.size,
  }));
}
