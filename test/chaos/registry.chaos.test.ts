import { call } from '../../loadtests/src/cluster';
import { runScenario } from './harness/scenario';

/*
 * The population registry degraded, not down (issue #14): half its calls answered 503, the rest slow
 * (REGISTRY_TIMEOUT_MS is 2 s; CHAOS_REGISTRY_LATENCY_MS, 1.5 s by default, answers inside it), through
 * the registry stand-in's fault knob. The NIK checker must retry without ever calling twice for an
 * attempt that was answered, and without going over the partner's quota.
 */
describe('registry at 50 % errors and slow', () => {
  it('every applicant verified once, none over quota, the funnel finishes', async () => {
    await runScenario({
      name: 'registry-errors-slow',
      faultSec: Number(process.env.CHAOS_REGISTRY_FAULT_SEC ?? 20),
      funnel: { quota: 1_000_000 },
      fault: async (c) => {
        const sim = c.svc['registry-sim'].url;
        const set = async (body: object) => {
          const a = await call('POST', `${sim}/_sim/faults`, body);
          if (a.status !== 200) throw new Error(`registry faults: ${a.status}`);
        };
        await set({ errorRate: 0.5, latencyMs: Number(process.env.CHAOS_REGISTRY_LATENCY_MS ?? 1_500) });
        return () => set({ errorRate: 0, latencyMs: null });
      },
      check: { recoveryOp: 'enroll' },
    });
  });
});
