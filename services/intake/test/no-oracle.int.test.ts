/**
 * Issue #13, acceptance 2: POST /v1/registrations is no yes/no oracle. For a NIK the registry matched
 * (held), an email already registered, and a NIK and email nobody has, the answers are byte-identical
 * apart from the id, and their server times over 200 requests each differ by less than 2 ms at the
 * median. Requests are interleaved (held, registered, fresh, …) so the machine's noise falls on all three.
 */
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { eventBuilder, registrationStatusChangedV1Event } from '@gelombang/contracts';
import { createKafka, EventProducer, type App } from '@gelombang/platform';
import { asApplicant } from '@gelombang/testkit';
import { buildTestApp, dropSchema, KAFKA_BROKERS, person, testEnv, waitFor, type TestEnv } from './helpers/build-test-app';

const N = 200;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};

describe('the same answer whatever is registered (real Kafka, PostgreSQL, Redis)', () => {
  let t: TestEnv;
  let app: App;
  beforeAll(async () => {
    t = testEnv({ RATE_LIMIT_CLIENT_BURST: '100000', RATE_LIMIT_GLOBAL_BURST: '100000', CONSUMER_START_AT: 'end' });
    app = await buildTestApp(t);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(t.schema);
  });

  const post = (body: object) => app.inject({ method: 'POST', url: '/v1/registrations', payload: body, remoteAddress: '10.7.7.7' });
  /** What a client can see, with the registration's id taken out (the Location header holds it too). */
  const visible = (res: Awaited<ReturnType<typeof post>>) => {
    const id = res.json<{ registrationId: string }>().registrationId;
    const headers = Object.fromEntries(
      Object.entries(res.headers)
        .filter(([k]) => !['date', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-request-id'].includes(k))
        .map(([k, v]) => [k, String(v).replaceAll(id, '<id>')]),
    );
    return { status: res.statusCode, headers, body: res.body.replaceAll(id, '<id>') };
  };

  it('answers a held NIK, a registered email and a fresh applicant byte for byte alike, within 2 ms at the median', async () => {
    // A NIK the registry matched: the registration holds it (the NIK service's status event, as on the topic).
    const holder = person();
    const held = await post(holder);
    const holderId = held.json<{ registrationId: string }>().registrationId;
    const kafka = createKafka({ brokers: KAFKA_BROKERS.split(','), clientId: 'no-oracle-test', logger: pino({ level: 'silent' }) });
    const producer = new EventProducer(kafka, { ackTimeoutMs: 10_000 });
    await producer.connect();
    try {
      const build = eventBuilder('urn:gelombang:nik-verification');
      await producer.publish(
        build.message(registrationStatusChangedV1Event, { registrationId: holderId, status: 'nik_verified', attempt: 1, changedAt: new Date().toISOString() }),
      );
    } finally {
      await producer.close();
    }
    await waitFor(async () => {
      const v = await app.inject({ method: 'GET', url: `/v1/registrations/${holderId}`, headers: asApplicant(holderId) });
      return v.json<{ status: string }>().status === 'nik_verified' ? true : undefined;
    });
    const heldKey = `${t.redisPrefix}intake:nikheld:${t.cipher.blindIndex('nik', holder.nik)}`;
    await waitFor(async () => ((await app.redis.get(heldKey)) === holderId ? true : undefined), 10_000, 'the NIK held in Redis');

    const kinds = {
      heldNik: () => person({ nik: holder.nik, birthDate: holder.birthDate }),
      registeredEmail: () => person({ email: holder.email }),
      fresh: () => person(),
    };
    const times: Record<keyof typeof kinds, number[]> = { heldNik: [], registeredEmail: [], fresh: [] };
    const seen: Record<keyof typeof kinds, Set<string>> = { heldNik: new Set(), registeredEmail: new Set(), fresh: new Set() };
    const ids: Record<keyof typeof kinds, string[]> = { heldNik: [], registeredEmail: [], fresh: [] };
    for (let i = 0; i < 20; i++) await post(person()); // warm: the first requests pay for compiling the path
    for (let i = 0; i < N; i++) {
      for (const kind of Object.keys(kinds) as Array<keyof typeof kinds>) {
        const body = kinds[kind]();
        const t0 = performance.now();
        const res = await post(body);
        times[kind].push(performance.now() - t0);
        seen[kind].add(JSON.stringify(visible(res)));
        ids[kind].push(res.json<{ registrationId: string }>().registrationId);
      }
    }
    // One visible answer per kind, and the same one for all three.
    for (const kind of Object.keys(kinds) as Array<keyof typeof kinds>) expect(seen[kind].size).toBe(1);
    const [answer] = [...seen.fresh];
    expect([...seen.heldNik]).toEqual([answer]);
    expect([...seen.registeredEmail]).toEqual([answer]);
    expect(JSON.parse(answer!)).toMatchObject({ status: 202 });

    const m = { heldNik: median(times.heldNik), registeredEmail: median(times.registeredEmail), fresh: median(times.fresh) };
    expect(Math.abs(m.heldNik - m.fresh)).toBeLessThan(2);
    expect(Math.abs(m.registeredEmail - m.fresh)).toBeLessThan(2);

    // And what each became: the conflicts rejected_duplicate, the fresh ones pending.
    const statusOf = async (id: string) =>
      (await app.inject({ method: 'GET', url: `/v1/registrations/${id}`, headers: asApplicant(id) })).json<{ status: string }>().status;
    for (const [kind, status] of [
      ['heldNik', 'rejected_duplicate'],
      ['registeredEmail', 'rejected_duplicate'],
      ['fresh', 'pending_email_verification'],
    ] as const)
      await waitFor(async () => ((await statusOf(ids[kind][N - 1]!)) === status ? true : undefined), 30_000, `${kind} → ${status}`);
  });
});
