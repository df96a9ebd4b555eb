import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  DEADLETTER_V1,
  NIK_REJECTED_V1,
  NIK_VERIFIED_V1,
  nikRejectedV1,
  nikVerifiedV1,
  REGISTRATION_STATUS_CHANGED_V1,
  registrationStatusChangedV1,
} from '@gelombang/contracts';
import { typoVariant } from '@gelombang/nik';
import { SESSION_COOKIE, type App } from '@gelombang/platform';
import { asApplicant, capturedLogs, DATABASE_URL, dropSchema, sessionFor, TopicTap, waitFor, refusal, FORBIDDEN_SESSION_EN } from '@gelombang/testkit';
import { buildTestApp, person, requestedEvent, startSim, statusOf, testEnv, upstream, type Sim, type TestEnv } from './helpers/build-test-app';

interface Decision<F> {
  fact: F;
  status: ReturnType<typeof registrationStatusChangedV1.parse>;
}

/** Every personal value this file sent, to prove none reached a log line. */
const sentPii = new Set<string>();
const remember = <P extends { nik: string; fullName: string; birthDate: string }>(p: P): P => {
  sentPii.add(p.nik).add(p.fullName);
  return p;
};

describe('NIK verification (real Kafka, PostgreSQL, Redis; registry simulator)', () => {
  let t: TestEnv;
  let app: App;
  let sim: Sim;
  let tap: TopicTap;
  let up: Awaited<ReturnType<typeof upstream>>;
  let db: pg.Client;

  beforeAll(async () => {
    sim = await startSim({ REGISTRY_MODE: 'strict', REGISTRY_LATENCY_MS: '5' });
    t = testEnv({ REGISTRY_URL: sim.url });
    tap = await new TopicTap([NIK_VERIFIED_V1, NIK_REJECTED_V1, REGISTRATION_STATUS_CHANGED_V1, DEADLETTER_V1]).start();
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

  /** Both events of one decision, parsed with their contracts. */
  async function decisionOf(registrationId: string, topic: typeof NIK_VERIFIED_V1, count?: number): Promise<Decision<ReturnType<typeof nikVerifiedV1.parse>>>;
  async function decisionOf(registrationId: string, topic: typeof NIK_REJECTED_V1, count?: number): Promise<Decision<ReturnType<typeof nikRejectedV1.parse>>>;
  async function decisionOf(registrationId: string, topic: typeof NIK_VERIFIED_V1 | typeof NIK_REJECTED_V1, count = 1): Promise<Decision<unknown>> {
    const facts = await tap.waitFor(topic, { key: registrationId, count });
    const statuses = await tap.waitFor(REGISTRATION_STATUS_CHANGED_V1, { key: registrationId, count });
    return {
      fact: topic === NIK_VERIFIED_V1 ? nikVerifiedV1.parse(facts.at(-1)) : nikRejectedV1.parse(facts.at(-1)),
      status: registrationStatusChangedV1.parse(statuses.at(-1)),
    };
  }

  it('a person the registry knows is verified: nik.verified.v1 and status nik_verified on Kafka, verified over REST', async () => {
    const p = remember(person('Budi Santoso'));
    await sim.load([{ ...p, fullName: 'BUDI  SANTOSO' }]);
    const event = requestedEvent(t, p);
    const id = event.data.registrationId;
    await up.send([event]);

    const { fact, status } = await decisionOf(id, NIK_VERIFIED_V1);
    expect(fact).toMatchObject({
      type: 'id.gelombang.nik.verified.v1',
      subject: id,
      data: { registrationId: id, attempt: 1, nikIndex: t.cipher.blindIndex('nik', p.nik), provinceCode: p.nik.slice(0, 2) },
    });
    expect(status.data).toEqual({ registrationId: id, status: 'nik_verified', attempt: 1, changedAt: fact.data.verifiedAt });
    expect(await statusOf(app, id)).toEqual({
      statusCode: 200,
      body: { registrationId: id, attempt: 1, status: 'verified', checkedAt: fact.data.verifiedAt },
    });
    // Stored sealed, as received; nothing readable in the row.
    const row = (await db.query(`SELECT * FROM ${t.schema}.checks WHERE registration_id = $1`, [id])).rows[0];
    expect(row).toMatchObject({ state: 'verified', tries: 1, nik_enc: event.data.pii.nik, lease_id: null });
    expect(JSON.stringify(row)).not.toContain(p.nik);
    for (const m of [...tap.messages.filter((x) => x.key === id)]) expect(m.value).not.toContain(p.nik);
  });

  it.each([
    ['unknown to the registry', 'NIK_NOT_FOUND', true, async (p: ReturnType<typeof person>) => p],
    ['known under another name', 'DATA_MISMATCH', true, async (p: ReturnType<typeof person>) => (await sim.load([{ ...p, fullName: 'Orang Lain' }]), p)],
    ['inactive in the registry', 'NIK_INACTIVE', false, async (p: ReturnType<typeof person>) => (await sim.load([{ ...p, status: 'inactive' }]), p)],
  ] as const)('a person %s is rejected with %s (correctable: %s) on Kafka and over REST', async (_what, reason, correctable, arrange) => {
    const p = remember(await arrange(person('Dewi Lestari')));
    const event = requestedEvent(t, p);
    const id = event.data.registrationId;
    await up.send([event]);

    const { fact, status } = await decisionOf(id, NIK_REJECTED_V1);
    expect(fact.data).toEqual({ registrationId: id, attempt: 1, reason, correctable, rejectedAt: expect.any(String) });
    expect(status.data).toEqual({ registrationId: id, status: 'nik_rejected', reason, attempt: 1, changedAt: fact.data.rejectedAt });
    expect((await statusOf(app, id)).body).toEqual({
      registrationId: id,
      attempt: 1,
      status: 'rejected',
      reason,
      correctable,
      checkedAt: fact.data.rejectedAt,
    });
    expect(tap.events(NIK_VERIFIED_V1, id)).toEqual([]);
  });

  it('after a rejection, the corrected NIK (attempt 2) is verified and REST shows the newer attempt', async () => {
    const p = remember(person('Ahmad Fauzi'));
    await sim.load([p]);
    const typo = remember({ ...p, nik: typoVariant(p.nik, 3) });
    const first = requestedEvent(t, typo);
    const id = first.data.registrationId;
    await up.send([first]);
    expect((await decisionOf(id, NIK_REJECTED_V1)).fact.data).toMatchObject({ attempt: 1, reason: 'NIK_NOT_FOUND', correctable: true });

    await up.send([requestedEvent(t, p, id, 2)]);
    const { fact, status } = await decisionOf(id, NIK_VERIFIED_V1);
    expect(fact.data.attempt).toBe(2);
    expect(status.data).toMatchObject({ status: 'nik_verified', attempt: 2 });
    expect((await statusOf(app, id)).body).toMatchObject({ attempt: 2, status: 'verified' });
  });

  it('replayed requests (same event again, before and after the decision) cause one check and one set of events', async () => {
    const p = remember(person('Rina Wati'));
    await sim.load([p]);
    const event = requestedEvent(t, p);
    const id = event.data.registrationId;
    const before = await sim.stats();
    await up.send([event, event]);
    await decisionOf(id, NIK_VERIFIED_V1);
    await up.send([event]);
    // A sentinel published after the replay: once it is decided, the replay has surely been consumed.
    const sentinel = requestedEvent(t, remember(person('Sentinel Satu')));
    await up.send([sentinel]);
    await decisionOf(sentinel.data.registrationId, NIK_REJECTED_V1);
    await new Promise((r) => setTimeout(r, 300));

    expect(tap.events(NIK_VERIFIED_V1, id)).toHaveLength(1);
    expect(tap.events(REGISTRATION_STATUS_CHANGED_V1, id)).toHaveLength(1);
    const after = await sim.stats();
    expect(after.byResult.MATCH - before.byResult.MATCH).toBe(1);
    const rows = await db.query(`SELECT attempt, tries FROM ${t.schema}.checks WHERE registration_id = $1`, [id]);
    expect(rows.rows).toEqual([{ attempt: 1, tries: 1 }]);
    expect((await db.query(`SELECT count(*)::int AS n FROM ${t.schema}.outbox`)).rows[0].n).toBe(0);
  });

  it('dead-letters a message that is not a valid request and keeps consuming', async () => {
    const key = randomUUID();
    await up.sendRaw(key, JSON.stringify({ specversion: '1.0', type: 'id.gelombang.nik.verification-requested.v1', data: { registrationId: key } }));
    const p = remember(person('Sesudah Racun'));
    await sim.load([p]);
    const next = requestedEvent(t, p);
    await up.send([next]);
    // Ours among them: a running local cluster's own NIK service reads the shared topic and dead-letters it too.
    const ours = await waitFor(async () => tap.events(DEADLETTER_V1, key).find((d) => d.consumerGroup === t.config.CONSUMER_GROUP), 30_000, 'our dead letter');
    expect(ours).toMatchObject({ originalTopic: 'nik.verification-requested.v1', consumerGroup: t.config.CONSUMER_GROUP });
    await decisionOf(next.data.registrationId, NIK_VERIFIED_V1);
  });

  it('dead-letters a request sealed with a key it does not hold (it could never check it), queueing nothing', async () => {
    const foreign = testEnv();
    const p = remember(person('Kunci Asing'));
    const stranger = requestedEvent(foreign, p);
    await up.send([stranger]);
    const [dead] = await tap.waitFor(DEADLETTER_V1, { key: stranger.data.registrationId });
    expect(dead).toMatchObject({ originalTopic: 'nik.verification-requested.v1', reason: expect.stringContaining('key this service does not hold') });
    const rows = await db.query(`SELECT count(*)::int AS n FROM ${t.schema}.checks WHERE registration_id = $1`, [stranger.data.registrationId]);
    expect(rows.rows[0].n).toBe(0);
  });

  it('answers 404 NIK_VERIFICATION_NOT_FOUND for an unknown registration and 400 for a malformed id', async () => {
    const id = randomUUID();
    const unknown = await app.inject({ method: 'GET', url: `/v1/nik-verifications/${id}`, headers: { 'accept-language': 'en', ...asApplicant(id) } });
    expect([unknown.statusCode, unknown.json()]).toEqual([
      404,
      { code: 'NIK_VERIFICATION_NOT_FOUND', message: 'There is no NIK check for this registration.' },
    ]);
    const bad = await app.inject({ method: 'GET', url: '/v1/nik-verifications/not-a-uuid', headers: asApplicant(id) });
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  describe('GET /v1/nik-verifications/:registrationId — only with the session of that registration', () => {
    const get = (id: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: `/v1/nik-verifications/${id}`, headers });
    /** A registration whose check the registry has decided. */
    async function checked(): Promise<string> {
      const p = remember(person('Sari Wulandari'));
      await sim.load([p]);
      const event = requestedEvent(t, p);
      await up.send([event]);
      await decisionOf(event.data.registrationId, NIK_VERIFIED_V1);
      return event.data.registrationId;
    }
    let id: string;
    beforeAll(async () => {
      id = await checked();
    });

    it('without a session (none, not a JWT, not Bearer, or a malformed id) answers 401 SESSION_REQUIRED with a Bearer challenge', async () => {
      for (const [url, headers] of [
        [id, {}],
        [id, { authorization: 'Bearer not-a-session' }],
        [id, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
        ['not-a-uuid', {}],
      ] as const) {
        const res = await get(url, headers);
        expect({ url, status: res.statusCode, body: res.json(), challenge: res.headers['www-authenticate'] }).toEqual({
          url,
          status: 401,
          body: { code: 'SESSION_REQUIRED', message: expect.any(String) },
          challenge: 'Bearer realm="gelombang"',
        });
      }
    });

    it("with another registration's session answers 403 SESSION_FORBIDDEN, the same whether or not that registration has a check", async () => {
      const headers = { ...asApplicant(randomUUID()), 'accept-language': 'en' };
      const [existing, missing] = [await get(id, headers), await get(randomUUID(), headers)];
      expect(refusal(existing)).toEqual(FORBIDDEN_SESSION_EN);
      expect(refusal(missing)).toEqual(refusal(existing));
    });

    it('with its own session, by header or by cookie, answers the check (an old proof of the code is enough); the backlog stays an operations route', async () => {
      const token = sessionFor(id);
      for (const headers of [{ authorization: `Bearer ${token}` }, { cookie: `${SESSION_COOKIE}=${token}` }, asApplicant(id, Date.now() - 11 * 60_000)]) {
        const res = await get(id, headers);
        expect([res.statusCode, res.json()]).toEqual([200, expect.objectContaining({ registrationId: id, status: 'verified' })]);
      }
      expect((await app.inject('/v1/nik-verifications/backlog')).statusCode).toBe(200);
      expect(capturedLogs.join('')).not.toContain(token.split('.')[2]);
    });
  });

  it('reports the backlog and breaker state for operations, and metrics for the calls', async () => {
    const backlog = await app.inject('/v1/nik-verifications/backlog');
    expect(backlog.statusCode).toBe(200);
    const b = backlog.json();
    expect(b).toEqual({
      queued: expect.any(Number),
      due: expect.any(Number),
      oldestQueuedAgeSeconds: b.queued > 0 ? expect.any(Number) : null,
      breaker: 'closed',
    });
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toMatch(/nik_registry_calls_total\{outcome="match",service="nik-verification"\} [1-9]/);
    expect(metrics).toMatch(/nik_registry_calls_total\{outcome="not_found",service="nik-verification"\} [1-9]/);
    expect(metrics).toMatch(/nik_checks_decided_total\{state="rejected",reason="NIK_INACTIVE",service="nik-verification"\} 1/);
    expect(metrics).toMatch(/nik_registry_breaker_state\{service="nik-verification"\} 0/);
    expect(metrics).toMatch(/nik_checks_queued\{when="all",service="nik-verification"\} \d+/);
    const ready = await app.inject('/health/ready');
    expect([ready.statusCode, ready.json().checks]).toEqual([200, { postgres: 'ok', kafka: 'ok', outbox: 'ok', checker: 'ok', consumer: 'ok' }]);
  });

  it('documents its REST surface in OpenAPI, saying who may read a check', async () => {
    const spec = (await app.inject('/docs/openapi.json')).json();
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/nik-verifications/{registrationId}', '/v1/nik-verifications/backlog']));
    const check = spec.paths['/v1/nik-verifications/{registrationId}'].get;
    expect(Object.keys(check.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404']));
    expect(check.description).toContain('Only the applicant of this registration');
  });

  it('wrote no personal data to any log line', () => {
    const all = capturedLogs.join('');
    expect(capturedLogs.length).toBeGreaterThan(10);
    expect(sentPii.size).toBeGreaterThan(10);
    for (const v of sentPii) expect(all).not.toContain(v);
  });
});
