import { join } from 'node:path';
import type pg from 'pg';
import { request } from 'undici';
import { asApplicant, CONSUMER_SESSION_TIMEOUT_MS, dropSchema, freePort, startReadyServer, stopServer, waitFor, type ServerProcess } from '@gelombang/testkit';
import { batchBody, connectDb, enrollBody, makeEligible, person, testEnv, VerifiedPublisher, type Person, type TestEnv } from './helpers/build-test-app';

const SERVER = join(__dirname, '../dist/server.js');

/**
 * Issue #14, "consumer SIGKILL mid-drain", for enrollment: killed while it drains a backlog of
 * nik.verified.v1 and a crowd enrolls, then restarted, it must neither double nor lose a seat or an
 * eligibility row, and every applicant told "enrolled" holds that very seat.
 */
describe('enrollment SIGKILLed mid-drain (real enrollment process, Kafka, PostgreSQL, Redis)', () => {
  let t: TestEnv;
  let db: pg.Client;
  let publisher: VerifiedPublisher;
  let proc: ServerProcess | undefined;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // committed: a group that had not committed on a partition when it was killed must still read it
    // from its start after the restart (as in production), not from its end.
    t = testEnv({ HTTP_PORT: String(port), LOG_LEVEL: 'warn', CONSUMER_START_AT: 'committed' });
    db = await connectDb();
    publisher = new VerifiedPublisher();
    await publisher.connect();
  });
  afterAll(async () => {
    await stopServer(proc);
    await Promise.allSettled([publisher?.close(), db?.end()]);
    await dropSchema(t.schema);
  });

  const start = async () => {
    proc = await startReadyServer(SERVER, t.env, new URL(base).port);
  };
  const post = async (path: string, body: unknown, headers: Record<string, string>) => {
    const r = await request(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: r.statusCode, body: (await r.body.json()) as { code?: string; enrollmentId?: string } };
  };

  it('doubles and loses no seat or eligibility row, and every seat an applicant was told of is theirs', async () => {
    await start();
    const quota = 40;
    const batch = batchBody({ quota });
    expect((await post('/v1/admin/batches', batch, { authorization: `Bearer ${t.adminToken}` })).status).toBe(201);
    // Its consumer group is reading once a verification published now is stored.
    await makeEligible(publisher, db, t.schema, [person()]);

    const people: Person[] = Array.from({ length: 60 }, () => person());
    await publisher.publish(people);
    const told = new Map<string, string>();
    let stop = false;
    // Each applicant tries until a final answer: enrolled (201, or 200 for the same seat), or the batch full.
    const applicant = async (p: Person) => {
      while (!stop) {
        const r = await post('/v1/enrollments', enrollBody(p, batch.batchId), asApplicant(p.registrationId)).catch(() => undefined);
        if (r && (r.status === 201 || r.status === 200)) return void told.set(p.registrationId, r.body.enrollmentId!);
        if (r?.status === 409 && r.body.code === 'ENROLLMENT_BATCH_FULL') return;
        await new Promise((res) => setTimeout(res, 200));
      }
    };
    const crowd = Promise.all(people.map(applicant));
    await waitFor(
      async () => ((await db.query(`SELECT enrolled FROM ${t.schema}.batches WHERE batch_id = $1`, [batch.batchId])).rows[0].enrolled >= 5 ? true : undefined),
      30_000,
      'seats being taken',
    );
    proc!.proc.kill('SIGKILL');
    await proc!.exited;
    await new Promise((r) => setTimeout(r, CONSUMER_SESSION_TIMEOUT_MS + 1_000));
    await start();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([crowd, new Promise((r) => (timer = setTimeout(r, 60_000)))]);
    clearTimeout(timer);
    stop = true;

    const ids = people.map((p) => p.registrationId);
    const eligibility = await db.query(
      `SELECT registration_id, count(*)::int AS n FROM ${t.schema}.eligibility WHERE registration_id = ANY($1::uuid[]) GROUP BY 1`,
      [ids],
    );
    expect(eligibility.rows.length).toBe(people.length);
    const seats = await db.query<{ registration_id: string; enrollment_id: string }>(
      `SELECT registration_id, enrollment_id FROM ${t.schema}.enrollments WHERE batch_id = $1 AND status = 'active'`,
      [batch.batchId],
    );
    const counter = (await db.query(`SELECT enrolled FROM ${t.schema}.batches WHERE batch_id = $1`, [batch.batchId])).rows[0].enrolled;
    expect({ counter, seats: seats.rows.length, people: new Set(seats.rows.map((s) => s.registration_id)).size }).toEqual({
      counter: quota,
      seats: quota,
      people: quota,
    });
    // Everyone told "enrolled" holds that very seat; nobody holds one they were not told of but for a
    // seat whose answer the kill cut off (then their retry was told it: 200 with the same seat).
    const held = new Map(seats.rows.map((s) => [s.registration_id, s.enrollment_id]));
    for (const [id, enrollmentId] of told) expect(held.get(id)).toBe(enrollmentId);
    expect(told.size).toBe(quota);
  }, 180_000);
});
