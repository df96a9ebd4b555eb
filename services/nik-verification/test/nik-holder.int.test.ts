import pg from 'pg';
import {
  NIK_REJECTED_V1,
  NIK_VERIFIED_V1,
  nikRejectedV1,
  nikVerifiedV1,
  REGISTRATION_STATUS_CHANGED_V1,
  registrationStatusChangedV1,
} from '@gelombang/contracts';
import type { App } from '@gelombang/platform';
import { DATABASE_URL, dropSchema, TopicTap, waitFor } from '@gelombang/testkit';
import { buildTestApp, person, requestedEvent, startSim, statusOf, testEnv, upstream, type Sim, type TestEnv } from './helpers/build-test-app';

type Person = ReturnType<typeof person>;

/**
 * Issue #13: several registrations may name one NIK (so a made-up name cannot block its owner), and the
 * one the registry matched holds it. At most one registration per NIK is ever verified.
 */
describe('one holder per NIK (real Kafka, PostgreSQL, Redis; registry simulator)', () => {
  let t: TestEnv;
  let app: App;
  let sim: Sim;
  let tap: TopicTap;
  let up: Awaited<ReturnType<typeof upstream>>;
  let db: pg.Client;

  beforeAll(async () => {
    sim = await startSim({ REGISTRY_MODE: 'strict', REGISTRY_LATENCY_MS: '5' });
    t = testEnv({ REGISTRY_URL: sim.url });
    tap = await new TopicTap([NIK_VERIFIED_V1, NIK_REJECTED_V1, REGISTRATION_STATUS_CHANGED_V1]).start();
    app = await buildTestApp(t);
    up = await upstream();
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await up?.close();
    await app?.close();
    await tap?.stop();
    await sim?.close();
    await db?.end();
    await dropSchema(t.schema);
  });

  const verified = async (id: string) => {
    const [fact] = await tap.waitFor(NIK_VERIFIED_V1, { key: id });
    return nikVerifiedV1.parse(fact);
  };
  const rejected = async (id: string) => {
    const [fact] = await tap.waitFor(NIK_REJECTED_V1, { key: id });
    const [status] = await tap.waitFor(REGISTRATION_STATUS_CHANGED_V1, { key: id });
    return { fact: nikRejectedV1.parse(fact), status: registrationStatusChangedV1.parse(status) };
  };
  const holders = async (p: Person) =>
    (await db.query(`SELECT registration_id, held_at FROM ${t.schema}.nik_holders WHERE nik_index = $1`, [t.cipher.blindIndex('nik', p.nik)])).rows;
  const tries = async (id: string) => (await db.query(`SELECT tries FROM ${t.schema}.checks WHERE registration_id = $1`, [id])).rows[0]?.tries;

  it('two registrations with the owner’s correct data: the first matched is verified, the later one is rejected NIK_ALREADY_HELD without a registry call', async () => {
    const owner = person('Budi Santoso');
    await sim.load([owner]);
    const first = requestedEvent(t, owner);
    const a = first.data.registrationId;
    await up.send([first]);
    await verified(a);
    expect(await holders(owner)).toEqual([{ registration_id: a, held_at: expect.any(Date) }]);

    const before = await sim.stats();
    const second = requestedEvent(t, owner);
    const b = second.data.registrationId;
    await up.send([second]);
    const { fact, status } = await rejected(b);
    expect(fact.data).toEqual({ registrationId: b, attempt: 1, reason: 'NIK_ALREADY_HELD', correctable: false, rejectedAt: expect.any(String) });
    expect(status.data).toEqual({ registrationId: b, status: 'nik_rejected', reason: 'NIK_ALREADY_HELD', attempt: 1, changedAt: fact.data.rejectedAt });
    expect((await statusOf(app, b)).body).toEqual({
      registrationId: b,
      attempt: 1,
      status: 'rejected',
      reason: 'NIK_ALREADY_HELD',
      correctable: false,
      checkedAt: fact.data.rejectedAt,
    });
    // The registry was not asked (the ministry's quota is spent on answers that can change something).
    expect((await sim.stats()).requests).toBe(before.requests);
    expect(await tries(b)).toBe(0);
    expect(tap.events(NIK_VERIFIED_V1, b)).toEqual([]);
    expect(await holders(owner)).toEqual([{ registration_id: a, held_at: expect.any(Date) }]);
    expect((await app.inject('/metrics')).body).toMatch(
      /nik_checks_decided_total\{state="rejected",reason="NIK_ALREADY_HELD",service="nik-verification"\} [1-9]/,
    );
  });

  it('a made-up name is rejected as before and holds nothing: the real owner is verified afterwards', async () => {
    const owner = person('Siti Aminah');
    await sim.load([owner]);
    const squat = requestedEvent(t, { ...owner, fullName: 'Nama Karangan' });
    await up.send([squat]);
    const { fact } = await rejected(squat.data.registrationId);
    expect(fact.data).toMatchObject({ reason: 'DATA_MISMATCH', correctable: true });
    expect(await holders(owner)).toEqual([]);

    const real = requestedEvent(t, owner);
    await up.send([real]);
    expect((await verified(real.data.registrationId)).data).toMatchObject({ registrationId: real.data.registrationId, attempt: 1 });
    expect(await holders(owner)).toEqual([{ registration_id: real.data.registrationId, held_at: expect.any(Date) }]);
    expect((await statusOf(app, real.data.registrationId)).body).toMatchObject({ status: 'verified' });
  });

  it('the holder matched again (a later attempt of the same registration) stays verified and keeps its hold', async () => {
    const owner = person('Rina Kusuma');
    await sim.load([owner]);
    const first = requestedEvent(t, owner);
    const id = first.data.registrationId;
    await up.send([first]);
    await verified(id);
    const [hold] = await holders(owner);

    const before = await sim.stats();
    await up.send([requestedEvent(t, owner, id, 2)]);
    const facts = await tap.waitFor(NIK_VERIFIED_V1, { key: id, count: 2 });
    expect(nikVerifiedV1.parse(facts[1]).data).toMatchObject({ registrationId: id, attempt: 2 });
    // Its own hold does not stop the call: the answer decides this attempt.
    expect((await sim.stats()).byResult.MATCH - before.byResult.MATCH).toBe(1);
    expect(await holders(owner)).toEqual([hold]);
    expect(tap.events(NIK_REJECTED_V1, id)).toEqual([]);
  });

  it('checks of one NIK racing through the checker (three matches committing at once) end with exactly one verified', async () => {
    const owner = person('Ahmad Hidayat');
    await sim.load([owner]);
    const requests = [requestedEvent(t, owner), requestedEvent(t, owner), requestedEvent(t, owner)];
    const ids = requests.map((e) => e.data.registrationId);
    const before = await sim.stats();

    // Hold every write to nik_holders back until all three matches are inside their decide transaction
    // (each has its check row locked and waits on the hold), then let them go at once.
    const gate = new pg.Client({ connectionString: DATABASE_URL });
    await gate.connect();
    try {
      await gate.query('BEGIN');
      await gate.query(`LOCK TABLE ${t.schema}.nik_holders IN SHARE MODE`);
      await up.send(requests);
      await waitFor(
        async () => {
          const r = await gate.query(`SELECT count(*)::int AS n FROM pg_locks WHERE relation = $1::regclass AND NOT granted`, [`${t.schema}.nik_holders`]);
          return r.rows[0].n === 3 ? true : undefined;
        },
        30_000,
        'three decisions waiting on the hold',
      );
      await gate.query('COMMIT');
    } finally {
      await gate.end();
    }

    await waitFor(
      async () => (ids.every((id) => tap.events(NIK_VERIFIED_V1, id).length + tap.events(NIK_REJECTED_V1, id).length === 1) ? true : undefined),
      30_000,
      'three decisions',
    );
    // All three reached the registry before any hold existed; the hold alone decided.
    expect((await sim.stats()).byResult.MATCH - before.byResult.MATCH).toBe(3);
    const winners = ids.filter((id) => tap.events(NIK_VERIFIED_V1, id).length === 1);
    expect(winners).toHaveLength(1);
    for (const id of ids.filter((x) => x !== winners[0])) {
      expect(nikRejectedV1.parse(tap.events(NIK_REJECTED_V1, id)[0]).data).toMatchObject({ reason: 'NIK_ALREADY_HELD', correctable: false });
      expect((await statusOf(app, id)).body).toMatchObject({ status: 'rejected', reason: 'NIK_ALREADY_HELD' });
      expect(await tries(id)).toBe(1);
    }
    expect(await holders(owner)).toEqual([{ registration_id: winners[0], held_at: expect.any(Date) }]);
    const states = await db.query(
      `SELECT state, count(*)::int AS n FROM ${t.schema}.checks WHERE registration_id = ANY($1::uuid[]) GROUP BY state ORDER BY state`,
      [ids],
    );
    expect(states.rows).toEqual([
      { state: 'rejected', n: 2 },
      { state: 'verified', n: 1 },
    ]);
  });
});
