import Redis from 'ioredis';
import type { App } from '@gelombang/platform';
import { buildApp } from '../src/app';
import { capturedLogs, dropSchema, logStream, person, REDIS_URL, testEnv, TODAY, type TestEnv } from './helpers/build-test-app';
import { isDryRun, WARM_UP_HEADER } from '../src/warm-up';

const metric = (text: string, name: string) => {
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : 0;
};

describe('boot warm-up (dry-run registrations through the route before listening)', () => {
  let t: TestEnv;
  let app: App;
  const redis = new Redis(REDIS_URL);
  const logsBefore = capturedLogs.length;

  beforeAll(async () => {
    t = testEnv();
    app = await buildApp(t.config, { today: () => TODAY, logStream, consumerStartAt: 'end', warmUpRequests: 200 });
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(t.schema);
    const keys = await redis.keys(`${t.redisPrefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('takes the whole path (202s and coded refusals) yet claims, publishes, counts and logs nothing', async () => {
    const warmed = capturedLogs
      .slice(logsBefore)
      .map((l) => JSON.parse(l))
      .find((l) => l.msg?.startsWith('request path warmed up'));
    expect(warmed).toMatchObject({ accepted: 180, refused: 20 });

    // No NIK/email claim, idempotency record, accepted view or admission bucket in Redis.
    const keys = await redis.keys(`${t.redisPrefix}*`);
    expect(keys.filter((k) => !k.endsWith('claims:v2:complete'))).toEqual([]);

    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metric(metrics, 'kafka_produce_requests_total')).toBe(0);
    expect(metric(metrics, 'intake_registrations_accepted_total')).toBe(0);
    expect(metrics).not.toMatch(/intake_registrations_rejected_total\{[^}]*\} [1-9]/);
    // Nor are they timed: the phase histogram describes real traffic only.
    expect(metrics).not.toMatch(/intake_registration_phase_seconds_count\{[^}]*\} [1-9]/);

    const routeLogs = capturedLogs.slice(logsBefore).filter((l) => l.includes('/v1/registrations') || l.includes('registration accepted'));
    expect(routeLogs).toEqual([]);
  });

  it('is not a back door: a request from the network with the header is an ordinary registration', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/v1/registrations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [WARM_UP_HEADER]: 'guess' },
      body: JSON.stringify(person()),
    });
    expect(res.status).toBe(202);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metric(metrics, 'intake_registrations_accepted_total')).toBe(1);
    expect(metric(metrics, 'kafka_produce_requests_total')).toBeGreaterThanOrEqual(1);
    expect((await redis.keys(`${t.redisPrefix}intake:email:*`)).length).toBe(1);
    // Timed, phase by phase: claim (admission and dedup, one round trip), publish (each within the
    // total), and the total. `admission` alone is only for requests refused before their claim.
    const phase = (p: string, what: 'count' | 'sum') =>
      Number(new RegExp(`intake_registration_phase_seconds_${what}\\{[^}]*phase="${p}"[^}]*\\} ([0-9.e-]+)`).exec(metrics)?.[1]);
    for (const p of ['claim', 'publish', 'total']) expect(phase(p, 'count')).toBe(1);
    for (const p of ['claim', 'publish']) expect(phase(p, 'sum')).toBeLessThanOrEqual(phase('total', 'sum'));
    expect(metrics).not.toMatch(/intake_registration_phase_seconds_count\{[^}]*phase="admission"[^}]*\} [1-9]/);
    expect(phase('publish', 'sum')).toBeGreaterThan(0);
  });

  it('honours the token only on in-process requests', () => {
    const dryRun = { token: 'secret', ports: {} as never };
    const req = (injected: boolean, token: string) => ({ raw: injected ? { _lightMyRequest: {} } : {}, headers: { [WARM_UP_HEADER]: token } }) as never;
    expect(isDryRun(req(true, 'secret'), dryRun)).toBe(true);
    expect(isDryRun(req(false, 'secret'), dryRun)).toBe(false);
    expect(isDryRun(req(true, 'other'), dryRun)).toBe(false);
    expect(isDryRun(req(true, 'secret'), undefined)).toBe(false);
  });
});
