import { noContent, problems, PUBLIC, REGISTRY_SECURITY } from '@gelombang/contracts';
import type { App } from '@gelombang/platform';
import type { PopulationRegistry } from '../domain/registry';
import { REGISTRY_UNAUTHORIZED } from '../errors';
import { sameToken } from './population';
import { callsResponse, faultsRequest, faultsResponse, loadPeopleRequest, loadPeopleResponse, statsResponse } from './schemas';

/** The stand-in runs only on developers' machines and in load runs: its controls are open to whoever reaches its port. */
const SIM_WHO = 'Who may call: anyone who reaches the stand-in (development and load tests only; not deployed).';

/** Test and operations controls of the simulator. They exist only here: the real registry has none. */
export async function simRoutes(app: App, deps: { registry: PopulationRegistry; quotaPerSec: number; token: string }) {
  const { registry } = deps;
  const token = Buffer.from(deps.token);
  // Calls per attempt (decision 0024): the partner's credential is asked for, as the real registry's usage report would.
  app.get(
    '/_sim/calls',
    {
      schema: {
        summary: 'Registry calls per attempt (idempotency key): verified, replayed, the most for one attempt',
        description: 'Who may call: the partner holding the registry credential (REGISTRY_API_TOKEN), as for its usage report.',
        operationId: 'simCalls',
        tags: ['simulator'],
        security: REGISTRY_SECURITY,
        response: { 200: callsResponse, ...problems([REGISTRY_UNAUTHORIZED]) },
      },
      onRequest: async (req) => {
        if (!sameToken(req.headers.authorization, token)) throw REGISTRY_UNAUTHORIZED({ headers: { 'www-authenticate': 'Bearer' } });
      },
    },
    async () => registry.calls(),
  );
  app.post(
    '/_sim/people',
    {
      schema: {
        summary: 'Load people (bulk) and NIKs that must not exist',
        description: SIM_WHO,
        operationId: 'simLoadPeople',
        tags: ['simulator'],
        security: PUBLIC,
        body: loadPeopleRequest,
        response: { 200: loadPeopleResponse },
      },
    },
    async (req) => ({ ...registry.load(req.body.people, req.body.absent ?? []), people: registry.size }),
  );
  const reset = { summary: 'Forget people, faults and statistics', description: SIM_WHO, operationId: 'simReset', tags: ['simulator'], security: PUBLIC };
  app.post('/_sim/reset', { schema: { ...reset, response: { 204: noContent('Forgotten') } } }, async (_req, reply) => {
    registry.reset();
    return reply.status(204).send();
  });
  app.post(
    '/_sim/faults',
    {
      schema: {
        summary: 'Inject errors, an outage or latency',
        description: SIM_WHO,
        operationId: 'simSetFaults',
        tags: ['simulator'],
        security: PUBLIC,
        body: faultsRequest,
        response: { 200: faultsResponse },
      },
    },
    async (req) => {
      const { latencyMs, ...rest } = req.body;
      return registry.setFaults({ ...rest, ...(latencyMs === undefined ? {} : { latencyMs: latencyMs ?? undefined }) });
    },
  );
  const stats = { summary: 'What the simulator saw', description: SIM_WHO, operationId: 'simStats', tags: ['simulator'], security: PUBLIC };
  app.get('/_sim/stats', { schema: { ...stats, response: { 200: statsResponse } } }, async () => ({
    ...registry.stats(),
    mode: registry.mode,
    quotaPerSec: deps.quotaPerSec,
    people: registry.size,
  }));
}
