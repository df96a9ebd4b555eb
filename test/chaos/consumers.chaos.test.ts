import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from './harness/cluster';
import { runScenario } from './harness/scenario';

/*
 * Consumer SIGKILL mid-drain (issue #14): each consumer is killed, left down while its backlog grows,
 * started, and killed again while it drains that backlog — no flush, no commit, no lease released.
 * The registry answers slowly here so the NIK checker is killed with calls in flight. Afterwards
 * every applicant has one mail within the cooldown, one answered registry call and one seat.
 */
const CONSUMERS: ServiceName[] = ['intake-projector', 'email', 'nik-verification', 'enrollment'];
const DOWN_MS = Number(process.env.CHAOS_CONSUMER_DOWN_MS ?? 3_000);
const DRAIN_MS = Number(process.env.CHAOS_CONSUMER_DRAIN_MS ?? 1_200);

describe('consumer SIGKILL mid-drain', () => {
  it('projector, email, NIK and enrollment consumers: nothing lost, no second mail, registry call or seat', async () => {
    await runScenario({
      name: 'consumer-sigkill-mid-drain',
      faultSec: 0,
      loadSec: 40,
      funnel: { quota: 1_000_000 },
      serviceEnv: { 'registry-sim': { REGISTRY_LATENCY_MS: '400' } },
      fault: async (c) => {
        for (const name of CONSUMERS) {
          const s = c.svc[name];
          await s.kill('SIGKILL');
          await sleep(DOWN_MS);
          await s.start();
          await sleep(DRAIN_MS);
          await s.kill('SIGKILL');
          await s.start();
        }
        return async () => undefined;
      },
      // The email and enrollment APIs share their consumers' processes: their requests meet the kill itself.
      check: { unansweredAllowed: ['confirm', 'enroll'], recoveryOp: 'enroll' },
    });
  });
});
