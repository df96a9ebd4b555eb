import { OUTAGE_SEC, runScenario, world } from './harness/scenario';

/*
 * Datastore outages under the whole funnel (issue #14): PostgreSQL refused for OUTAGE_SEC (30 s by
 * default), PostgreSQL hung (every server process SIGSTOPped: connections and queries neither answer
 * nor fail), Redis down for OUTAGE_SEC (the intake's claims and limits, the email service's quota).
 * During each: only 2xx, 429 or 503 with Retry-After; afterwards nothing lost or doubled.
 */
describe('datastore outages under load', () => {
  const cluster = world({ name: 'datastores' });

  it(`PostgreSQL down ${OUTAGE_SEC} s: registrations go on, the funnel waits with 503 + Retry-After`, async () => {
    await runScenario(cluster(), {
      name: 'postgres-down',
      faultSec: OUTAGE_SEC,
      // The intake's hot path needs no PostgreSQL: degraded, not out of rotation.
      readiness: { service: 'intake', expect: 'stays' },
      funnel: { quota: 1_000_000 },
      fault: async (c) => {
        await c.pg.stop();
        return () => c.pg.start();
      },
      check: { recoveryOp: 'enroll' },
    });
  });

  it(`PostgreSQL hung ${Math.round(OUTAGE_SEC / 2)} s (not refused): answers come within their timeouts`, async () => {
    await runScenario(cluster(), {
      name: 'postgres-hung',
      faultSec: Math.round(OUTAGE_SEC / 2),
      funnel: { quota: 1_000_000 },
      fault: async (c) => {
        c.pg.freeze();
        return async () => c.pg.thaw();
      },
      check: { recoveryOp: 'enroll' },
    });
  });

  it(`Redis down ${OUTAGE_SEC} s: the intake and the email service keep their promises`, async () => {
    await runScenario(cluster(), {
      name: 'redis-down',
      faultSec: OUTAGE_SEC,
      funnel: { quota: 1_000_000 },
      fault: async (c) => {
        await c.redis.stop();
        return () => c.redis.start();
      },
    });
  });
});
