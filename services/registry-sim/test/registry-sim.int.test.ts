import { generateValidPerson } from '@gelombang/nik';
import { capturedLogs, logStream } from '@gelombang/testkit';
import { request } from 'undici';
import { buildApp } from '../src/app';
import { loadRegistrySimConfig } from '../src/config';

const TOKEN = 'test-registry-token';
const TODAY = new Date();
type Sim = Awaited<ReturnType<typeof buildApp>>;

async function start(env: Record<string, string> = {}): Promise<{ app: Sim; base: string }> {
  const app = await buildApp(loadRegistrySimConfig({ REGISTRY_API_TOKEN: TOKEN, REGISTRY_LATENCY_MS: '0', LOG_LEVEL: 'info', ...env }), { logStream });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { app, base: `http://127.0.0.1:${port}` };
}

const sentPii = new Set<string>();
async function verify(base: string, body: { nik: string; fullName: string; birthDate: string }, token: string | null = TOKEN) {
  sentPii.add(body.nik).add(body.fullName);
  const res = await request(`${base}/v1/population/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, body: (await res.body.json()) as any, headers: res.headers };
}
const post = async (base: string, path: string, body: unknown) => {
  const res = await request(`${base}${path}`, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, body: res.statusCode === 204 ? undefined : ((await res.body.json()) as any) };
};
const stats = async (base: string) => (await (await request(`${base}/_sim/stats`)).body.json()) as any;

describe('registry-sim over HTTP', () => {
  const apps: Sim[] = [];
  afterAll(async () => {
    for (const a of apps) await a.close();
  });
  const started = async (env?: Record<string, string>) => {
    const s = await start(env);
    apps.push(s.app);
    return s.base;
  };

  it('answers 401 REGISTRY_UNAUTHORIZED without the right bearer token, and counts it apart from requests', async () => {
    const base = await started();
    const p = { ...generateValidPerson(1, TODAY), fullName: 'Budi Santoso' };
    const none = await verify(base, p, null);
    const wrong = await verify(base, p, 'not-the-token');
    expect([none.status, none.body.code, wrong.status, wrong.body.code]).toEqual([401, 'REGISTRY_UNAUTHORIZED', 401, 'REGISTRY_UNAUTHORIZED']);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(await stats(base)).toMatchObject({ requests: 0, unauthorized: 2, answered: 0 });
  });

  it('in strict mode answers from bulk-loaded people only (thousands in one call)', async () => {
    const base = await started({ REGISTRY_MODE: 'strict' });
    const people = Array.from({ length: 5000 }, (_, i) => ({ ...generateValidPerson(1000 + i, TODAY), fullName: `Warga ${i}` }));
    const loaded = await post(base, '/_sim/people', {
      people: people.map((p, i) => ({ nik: p.nik, fullName: p.fullName, birthDate: p.birthDate, status: i === 1 ? 'inactive' : 'active' })),
      absent: [people[2]!.nik],
    });
    expect(loaded).toEqual({ status: 200, body: { loaded: 5000, absent: 1, people: 4999 } });
    const [a, inactive, absent] = [people[0]!, people[1]!, people[2]!];
    const stranger = generateValidPerson(99_999, TODAY);
    expect((await verify(base, { nik: a.nik, fullName: 'WARGA 0', birthDate: a.birthDate })).body).toEqual({ result: 'MATCH' });
    expect((await verify(base, { nik: a.nik, fullName: 'Warga 9', birthDate: a.birthDate })).body).toEqual({ result: 'DATA_MISMATCH' });
    expect((await verify(base, { nik: inactive.nik, fullName: inactive.fullName, birthDate: inactive.birthDate })).body).toEqual({ result: 'INACTIVE' });
    expect((await verify(base, { nik: absent.nik, fullName: absent.fullName, birthDate: absent.birthDate })).body).toEqual({ result: 'NOT_FOUND' });
    expect((await verify(base, { ...stranger, fullName: 'Siapa Saja' })).body).toEqual({ result: 'NOT_FOUND' });
    expect(await stats(base)).toMatchObject({ mode: 'strict', requests: 5, answered: 5, byResult: { MATCH: 1, NOT_FOUND: 2, DATA_MISMATCH: 1, INACTIVE: 1 } });
  });

  it('in open mode matches any valid NIK whose date is the stated one', async () => {
    const base = await started({ REGISTRY_MODE: 'open' });
    const p = generateValidPerson(7, TODAY);
    expect((await verify(base, { ...p, fullName: 'Siapa Saja' })).body).toEqual({ result: 'MATCH' });
    expect((await verify(base, { nik: p.nik, fullName: 'Siapa Saja', birthDate: '1950-01-01' })).body).toEqual({ result: 'DATA_MISMATCH' });
    expect((await verify(base, { nik: '1234', fullName: 'Siapa Saja', birthDate: '1950-01-01' })).body).toEqual({ result: 'NOT_FOUND' });
  });

  it('beyond the quota in one wall-clock second answers 429 with Retry-After and counts the call as over quota', async () => {
    const base = await started({ REGISTRY_QUOTA_PER_SEC: '5' });
    // Start right after a second boundary so the 12 calls share one second.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const p = { ...generateValidPerson(8, TODAY), fullName: 'Budi Santoso' };
    const answers = await Promise.all(Array.from({ length: 12 }, () => verify(base, p)));
    const codes = answers.map((a) => a.status).sort();
    expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
    const refused = answers.find((a) => a.status === 429)!;
    expect([refused.body.code, refused.headers['retry-after']]).toEqual(['REGISTRY_QUOTA_EXCEEDED', '1']);
    expect(await stats(base)).toMatchObject({ requests: 12, answered: 5, overQuota: 7, maxInOneSecond: 12 });
  });

  it('injects faults: outage and error rate answer 503 REGISTRY_UNAVAILABLE, latency delays answers; reset clears all', async () => {
    const base = await started();
    const p = { ...generateValidPerson(9, TODAY), fullName: 'Budi Santoso' };
    expect((await post(base, '/_sim/faults', { outage: true })).body).toEqual({ errorRate: 0, outage: true });
    const down = await verify(base, p);
    expect([down.status, down.body.code]).toEqual([503, 'REGISTRY_UNAVAILABLE']);

    await post(base, '/_sim/faults', { outage: false, errorRate: 1 });
    expect((await verify(base, p)).status).toBe(503);
    await post(base, '/_sim/faults', { errorRate: 0, latencyMs: 300 });
    const t0 = Date.now();
    expect((await verify(base, p)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(await stats(base)).toMatchObject({ requests: 3, faulted: 2, answered: 1 });

    expect((await post(base, '/_sim/faults', { errorRate: 2 })).status).toBe(400);
    expect((await post(base, '/_sim/reset', undefined)).status).toBe(204);
    expect(await stats(base)).toMatchObject({ requests: 0, faulted: 0, answered: 0, people: 0 });
    expect((await verify(base, p)).status).toBe(200);
  });

  it('answers 400 VALIDATION_FAILED for a malformed body, naming the fields', async () => {
    const base = await started();
    const bad = await verify(base, { nik: '', fullName: 'x', birthDate: '6 Sept 1997' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    expect(bad.body.errors.map((e: any) => e.field).sort()).toEqual(['birthDate', 'nik']);
  });

  it('documents its API in OpenAPI and wrote no NIK or name to any log line', async () => {
    const base = await started();
    const spec = (await (await request(`${base}/docs/openapi.json`)).body.json()) as any;
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/population/verify', '/_sim/people', '/_sim/faults', '/_sim/stats', '/_sim/reset']));
    const all = capturedLogs.join('');
    expect(capturedLogs.length).toBeGreaterThan(10);
    expect(sentPii.size).toBeGreaterThan(5);
    for (const v of sentPii) if (v.length >= 6) expect(all).not.toContain(v);
    expect(all).not.toContain('Warga 0');
  });
});
