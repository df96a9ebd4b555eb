import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { CONSUMER_SESSION_TIMEOUT_MS, DATABASE_URL, dropSchema, freePort, startReadyServer, stopServer, waitFor, type ServerProcess } from '@gelombang/testkit';
import { person, REGISTRY_TOKEN, requestedEvent, startSim, testEnv, upstream, type Sim, type TestEnv } from './helpers/build-test-app';

const SERVER = join(__dirname, '../dist/server.js');

interface Calls {
  attempts: number;
  verified: number;
  replayed: number;
  maxVerifiedPerAttempt: number;
  attemptsVerifiedTwice: number;
}

/**
 * Issue #14, "consumer SIGKILL mid-drain". The checker leases a check, calls the registry, then
 * records the answer. Killed between the registry's answer and that commit, it used to call again for
 * the same attempt once the lease ran out. Decision 0024: the call is recorded before it leaves and
 * carries the check's call id as its idempotency key, which the registry (here its stand-in) answers
 * from what it answered before: one attempt, at most one verification.
 */
describe('the NIK checker SIGKILLed with registry calls in flight (real nik-verification process, Kafka, PostgreSQL, Redis, registry stand-in)', () => {
  let sim: Sim;
  let t: TestEnv;
  let db: pg.Client;
  let up: Awaited<ReturnType<typeof upstream>>;
  let proc: ServerProcess | undefined;
  let base: string;

  beforeAll(async () => {
    sim = await startSim({ REGISTRY_LATENCY_MS: '0' });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = testEnv({
      HTTP_PORT: String(port),
      LOG_LEVEL: 'warn',
      REGISTRY_URL: sim.url,
      REGISTRY_TIMEOUT_MS: '4000',
      CHECK_LEASE_MS: '9000',
      CONSUMER_START_AT: 'end',
    });
    db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
    up = await upstream();
  });
  afterAll(async () => {
    await stopServer(proc);
    await Promise.allSettled([up?.close(), sim?.close(), db?.end()]);
    await dropSchema(t.schema);
  });

  const start = async () => {
    proc = await startReadyServer(SERVER, t.env, new URL(base).port);
  };
  const decided = async (ids: string[]) =>
    (await db.query(`SELECT count(*)::int AS n FROM ${t.schema}.checks WHERE registration_id = ANY($1::uuid[]) AND state <> 'queued'`, [ids])).rows[0]
      .n as number;
  const calls = async (token: string | null = REGISTRY_TOKEN) => {
    const r = await request(`${sim.url}/_sim/calls`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: r.statusCode, body: (await r.body.json()) as Calls };
  };

  it('asks the registry again under the same call id after a kill: every attempt decided, none verified twice', async () => {
    await start();
    // Its consumer group is reading once a check published now is decided.
    const marker = requestedEvent(t, person(), randomUUID());
    await waitFor(
      async () => {
        await up.send([marker]);
        await new Promise((r) => setTimeout(r, 1_000));
        return (await decided([marker.subject])) === 1 ? true : undefined;
      },
      60_000,
      'the process checking',
    );

    // Slow answers: calls are in flight (the registry has them, we have no answer yet) when the process dies.
    await sim.faults({ latencyMs: 2_000 });
    const events = Array.from({ length: 12 }, () => requestedEvent(t, person(), randomUUID()));
    const ids = events.map((e) => e.subject);
    const before = await sim.stats();
    await up.send(events);
    await waitFor(
      async () => {
        const s = await sim.stats();
        return s.requests - before.requests >= 3 && s.requests - s.answered >= 3 ? true : undefined;
      },
      30_000,
      'calls in flight',
    );
    proc!.proc.kill('SIGKILL');
    await proc!.exited;
    const inFlight = (await sim.stats()).requests - before.requests;
    // The registry answers what it was asked; the answers go nowhere. Then the restart, once the dead
    // member's Kafka session is over (sooner, its consumer group would wait for it past Fastify's start timeout).
    await new Promise((r) => setTimeout(r, CONSUMER_SESSION_TIMEOUT_MS + 1_000));
    await sim.faults({ latencyMs: null });
    await start();
    await waitFor(async () => ((await decided(ids)) === ids.length ? true : undefined), 60_000, 'every check decided');

    const { status, body } = await calls();
    expect(status).toBe(200);
    expect(body).toMatchObject({ maxVerifiedPerAttempt: 1, attemptsVerifiedTwice: 0 });
    const rows = await db.query(`SELECT state, calls_started FROM ${t.schema}.checks WHERE registration_id = ANY($1::uuid[])`, [ids]);
    expect(rows.rows.map((r) => r.state)).toEqual(ids.map(() => 'verified'));
    // The calls the dead process had in flight were asked again and answered from the registry's ledger.
    expect(inFlight).toBeGreaterThanOrEqual(3);
    expect(body.replayed).toBeGreaterThanOrEqual(1);
    expect(rows.rows.filter((r) => r.calls_started > 1).length).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('shows the calls per attempt only to a caller with the partner credential', async () => {
    expect((await calls(null)).status).toBe(401);
    expect((await calls('not-the-token')).status).toBe(401);
  });
});
