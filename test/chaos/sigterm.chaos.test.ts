import { setTimeout as sleep } from 'node:timers/promises';
import { SERVICES } from './harness/cluster';
import { runScenario } from './harness/scenario';

/*
 * SIGTERM under load for every service (issue #14), one after the other, each started again: a
 * rolling restart. Requests in flight are finished (a reset connection is a breach); once a process
 * is gone its port refuses connections, which a balancer routes around (allowed, and counted).
 */
describe('SIGTERM under load, every service', () => {
  it('a rolling restart: in-flight requests answered, nothing lost or doubled', async () => {
    await runScenario({
      name: 'sigterm-rolling',
      faultSec: 0,
      loadSec: 30,
      funnel: { quota: 1_000_000 },
      fault: async (c) => {
        for (const name of SERVICES) {
          await c.svc[name].kill('SIGTERM');
          await c.svc[name].start();
          await sleep(500);
        }
        return async () => undefined;
      },
      check: { refusedConnectionAllowed: ['register', 'confirm', 'enroll'], recoveryOp: 'enroll' },
    });
  });
});
