import type { App } from '@gelombang/platform';
import type { PopulationRegistry } from '../domain/registry';
import { answeredRequest, answeredResponse, faultsRequest, faultsResponse, loadPeopleRequest, loadPeopleResponse, statsResponse } from './schemas';

/** Test and operations controls of the simulator. They exist only here: the real registry has none. */
export async function simRoutes(app: App, deps: { registry: PopulationRegistry; quotaPerSec: number; answeredByNik: Map<string, number> }) {
  const { registry } = deps;
  app.post(
    '/_sim/people',
    { schema: { summary: 'Load people (bulk) and NIKs that must not exist', body: loadPeopleRequest, response: { 200: loadPeopleResponse } } },
    async (req) => ({ ...registry.load(req.body.people, req.body.absent ?? []), people: registry.size }),
  );
  app.post('/_sim/reset', { schema: { summary: 'Forget people, faults and statistics' } }, async (_req, reply) => {
    registry.reset();
    deps.answeredByNik.clear();
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
  app.post(
    '/_sim/answered',
    {
      schema: {
        summary: 'How many calls were answered (200) for each of these NIKs, in their order',
        body: answeredRequest,
        response: { 200: answeredResponse },
      },
    },
    async (req) => ({ answered: req.body.niks.map((nik) => deps.answeredByNik.get(nik) ?? 0) }),
  );
}
