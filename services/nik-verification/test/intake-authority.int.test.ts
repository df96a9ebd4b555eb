import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { App } from '@gelombang/platform';
import { DATABASE_URL, dropSchema, waitFor } from '@gelombang/testkit';
import { buildTestApp, person, requestedEvent, startSim, statusOf, testEnv, upstream, type Sim, type TestEnv } from './helpers/build-test-app';

/**
 * Decision 0024: which registrations exist is the intake projector's decision. A registration it
 * rejected (a duplicate of another's address) or expired is never checked against the registry and
 * never takes its NIK's hold, whichever of the rejection and the check request comes first.
 */
describe('the NIK service follows the intake projector (real Kafka, PostgreSQL, Redis; registry simulator)', () => {
  let t: TestEnv;
  let app: App;
  let sim: Sim;
  let up: Awaited<ReturnType<typeof upstream>>;
  let db: pg.Client;

  beforeAll(async () => {
    sim = await startSim({ REGISTRY_LATENCY_MS: '5' });
    t = testEnv({ REGISTRY_URL: sim.url, CONSUMER_START_AT: 'end' });
    app = await buildTestApp(t);
    up = await upstream();
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
    // Both groups joined at the topics' ends are reading once events published now arrive.
    const marker = randomUUID();
    await waitFor(
      async () => {
        await up.sendStatus(marker, 'expired', 'EMAIL_NOT_VERIFIED');
        await up.send([requestedEvent(t, person(), marker)]);
        await new Promise((r) => setTimeout(r, 500));
        return (await rejections(marker)).length && (await db.query(`SELECT 1 FROM ${t.schema}.checks WHERE registration_id = $1`, [marker])).rowCount === 0
          ? true
          : undefined;
      },
      60_000,
      'the consumers reading',
    );
  });
  afterAll(async () => {
    await up?.close();
    await app?.close();
    await sim?.close();
    await db?.end();
    await dropSchema(t.schema);
  });

  const checks = async (id: string) => (await db.query(`SELECT state FROM ${t.schema}.checks WHERE registration_id = $1`, [id])).rows;
  const holders = async (nik: string) =>
    (await db.query(`SELECT registration_id FROM ${t.schema}.nik_holders WHERE nik_index = $1`, [t.cipher.blindIndex('nik', nik)])).rows;
  const rejections = async (id: string) => (await db.query(`SELECT status, reason FROM ${t.schema}.intake_rejections WHERE registration_id = $1`, [id])).rows;

  it('never checks a registration the intake rejected before its request came, and the kept one still gets the NIK', async () => {
    const p = person();
    const loser = randomUUID();
    const winner = randomUUID();
    await up.sendStatus(loser, 'rejected_duplicate', 'DUPLICATE_NIK_OR_EMAIL');
    await waitFor(async () => ((await rejections(loser)).length ? true : undefined), 20_000, 'the rejection recorded');
    const before = await sim.stats();
    await up.send([requestedEvent(t, p, loser), requestedEvent(t, p, winner)]);
    await waitFor(async () => ((await checks(winner))[0]?.state === 'verified' ? true : undefined), 20_000, 'the kept one verified');
    expect((await sim.stats()).requests - before.requests).toBe(1);
    expect(await checks(loser)).toEqual([]);
    expect(await holders(p.nik)).toEqual([{ registration_id: winner }]);
    expect((await statusOf(app, loser)).statusCode).toBe(404);
  });

  it('drops a queued check when the rejection or expiry comes after it: no call, no hold', async () => {
    await sim.faults({ outage: true });
    try {
      const [dup, old] = [person(), person()];
      const [dupId, oldId] = [randomUUID(), randomUUID()];
      await up.send([requestedEvent(t, dup, dupId), requestedEvent(t, old, oldId)]);
      await waitFor(async () => ((await checks(dupId)).length && (await checks(oldId)).length ? true : undefined), 20_000, 'both queued');
      await up.sendStatus(dupId, 'rejected_duplicate', 'EMAIL_REGISTERED');
      await up.sendStatus(oldId, 'expired', 'EMAIL_NOT_VERIFIED');
      await waitFor(async () => ((await checks(dupId)).length + (await checks(oldId)).length === 0 ? true : undefined), 20_000, 'both dropped');
      await sim.faults({ outage: false });
      // A replayed request changes nothing: the rejection is remembered.
      await up.send([requestedEvent(t, dup, dupId)]);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await checks(dupId)).toEqual([]);
      expect([...(await holders(dup.nik)), ...(await holders(old.nik))]).toEqual([]);
    } finally {
      await sim.faults({ outage: false });
    }
  });

  it('keeps following its own hold for NIK_HELD: a check of that registration is still rejected NIK_ALREADY_HELD, not dropped', async () => {
    const p = person();
    const [holder, other] = [randomUUID(), randomUUID()];
    await up.send([requestedEvent(t, p, holder)]);
    await waitFor(async () => ((await checks(holder))[0]?.state === 'verified' ? true : undefined), 20_000, 'holder verified');
    await up.sendStatus(other, 'rejected_duplicate', 'NIK_HELD');
    await up.send([requestedEvent(t, p, other)]);
    await waitFor(async () => ((await checks(other))[0]?.state === 'rejected' ? true : undefined), 20_000, 'the other rejected');
    expect((await statusOf(app, other)).body).toMatchObject({ status: 'rejected', reason: 'NIK_ALREADY_HELD' });
  });
});
