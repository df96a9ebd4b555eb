import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Agent, request } from 'undici';
import type { App } from '@gelombang/platform';
import { asApplicant, dropSchema, freePort, startServerProcess, waitFor, type ServerProcess } from '@gelombang/testkit';
import { person, testEnv as intakeEnv } from '../../intake/test/helpers/build-test-app';
import { testEnv as emailEnv } from '../../email/test/helpers/build-test-app';
import { testEnv as nikEnv } from '../../nik-verification/test/helpers/build-test-app';
import { batchBody, testEnv as enrollmentEnv } from '../../enrollment/test/helpers/build-test-app';
import { testApp } from '@gelombang/testkit';
import { buildApp as buildIntake } from '../../intake/src/app';
import { buildApp as buildEmail } from '../../email/src/app';
import { buildApp as buildNik } from '../../nik-verification/src/app';
import { buildApp as buildEnrollment } from '../../enrollment/src/app';
import { EDGE_ROUTES } from '../src/routes';

const EDGE = join(__dirname, '../dist/server.js');
const ORIGIN = 'http://localhost:5173';

/** A client on its own loopback address (127.0.0.0/8 is all ours): to the edge, a different person. */
function clientAt(address: string) {
  const dispatcher = new Agent({ localAddress: address });
  return async (url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
    const res = await request(url, { method: (init.method ?? 'GET') as 'GET', headers: init.headers ?? {}, body: init.body ?? null, dispatcher });
    const text = await res.body.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers as Record<string, string | undefined>, text, json };
  };
}
const client = clientAt('127.0.0.1');
const jsonPost = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

async function startEdge(env: Record<string, string>): Promise<{ proc: ServerProcess; base: string }> {
  const port = await freePort();
  const proc = startServerProcess(EDGE, { HTTP_PORT: String(port), LOG_LEVEL: 'info', ...env });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (proc.proc.exitCode !== null) throw new Error(`edge exited: ${proc.output()}`);
    const r = await request(`${base}/health/live`).catch(() => undefined);
    if (r) await r.body.dump();
    return r?.statusCode === 200 ? true : undefined;
  }, 30_000);
  return { proc, base };
}

async function stopEdge(e: { proc: ServerProcess } | undefined): Promise<void> {
  if (!e || e.proc.proc.exitCode !== null) return;
  e.proc.proc.kill('SIGTERM');
  await e.proc.exited;
}

describe('the edge, a real process in front of the real services (CORS, routes, client address, headers, /docs)', () => {
  const it_ = intakeEnv({ HTTP_TRUST_PROXY: '127.0.0.1', CONSUMER_ENABLED: 'false', RATE_LIMIT_CLIENT_BURST: '4', RATE_LIMIT_CLIENT_PER_SEC: '0.001' });
  const em = emailEnv({ HTTP_TRUST_PROXY: '127.0.0.1', CONSUMER_ENABLED: 'false', MAIL_SENDER_ENABLED: 'false' });
  const nk = nikEnv({ REGISTRY_URL: 'http://127.0.0.1:9' });
  const en = enrollmentEnv({ CONSUMER_ENABLED: 'false' });
  let apps: App[] = [];
  let urls: Record<'intake' | 'email' | 'nik' | 'enrollment', string>;
  let edge: { proc: ServerProcess; base: string };
  let webRoot: string;

  beforeAll(async () => {
    apps = await Promise.all([
      testApp(buildIntake, it_.config),
      testApp(buildEmail, em.config),
      testApp(buildNik, nk.config),
      testApp(buildEnrollment, en.config),
    ]);
    const [intake, email, nik, enrollment] = await Promise.all(apps.map((a) => a.listen({ host: '127.0.0.1', port: 0 })));
    urls = { intake: intake!, email: email!, nik: nik!, enrollment: enrollment! };
    webRoot = mkdtempSync(join(tmpdir(), 'edge-web-'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><html lang="id"><title>Daftar</title><h1>Daftar Prakerja</h1></html>');
    writeFileSync(join(webRoot, 'app.js'), 'console.log("halo")');
    edge = await startEdge({
      EDGE_INTAKE_URL: urls.intake,
      EDGE_EMAIL_URL: urls.email,
      EDGE_NIK_URL: urls.nik,
      EDGE_ENROLLMENT_URL: urls.enrollment,
      EDGE_CORS_ORIGINS: `${ORIGIN},https://daftar.example.id`,
      EDGE_WEB_ROOT: webRoot,
    });
  }, 90_000);

  afterAll(async () => {
    await stopEdge(edge);
    await Promise.all(apps.map((a) => a.close()));
    await Promise.all([it_.schema, em.schema, nk.schema, en.schema].map((s) => dropSchema(s)));
  });

  it('answers the preflight of a configured origin, with credentials and the headers a client sends', async () => {
    const r = await client(`${edge.base}/v1/registrations`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, idempotency-key' },
    });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    expect(r.headers['access-control-allow-methods']).toContain('POST');
    expect(r.headers['access-control-allow-headers']).toEqual(expect.stringContaining('idempotency-key'));
    expect(r.headers.vary).toContain('Origin');
  });

  it('grants nothing to an origin that is not configured, preflight or not', async () => {
    const pre = await client(`${edge.base}/v1/registrations`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
    const get = await client(`${edge.base}/v1/batches`, { headers: { origin: 'https://evil.example' } });
    expect(get.status).toBe(200); // the answer is sent; the browser withholds it from the page
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
    // "null" (sandboxed frames, file: pages) is not an origin anyone configured either.
    const nul = await client(`${edge.base}/v1/batches`, { headers: { origin: 'null' } });
    expect(nul.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('lets a configured origin read Location, Retry-After, rate-limit headers and ETag', async () => {
    const r = await client(`${edge.base}/v1/batches`, { headers: { origin: 'https://daftar.example.id' } });
    expect(r.headers['access-control-allow-origin']).toBe('https://daftar.example.id');
    const exposed = (r.headers['access-control-expose-headers'] ?? '').split(',').map((s) => s.trim());
    expect(exposed).toEqual(expect.arrayContaining(['location', 'retry-after', 'etag', 'x-ratelimit-remaining', 'ratelimit']));
  });

  it('reaches every documented route of every service: the same answer through :edge as from the service itself', async () => {
    const services = [urls.intake, urls.email, urls.nik, urls.enrollment];
    const through = clientAt('127.0.0.5');
    const direct = clientAt('127.0.0.5');
    const checked: string[] = [];
    for (const origin of services) {
      const doc = (await client(`${origin}/docs/openapi.json`)).json as { paths: Record<string, Record<string, unknown>> };
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const method of Object.keys(ops).map((m) => m.toUpperCase())) {
          const url = path.replace(/\{[^}]+\}/g, randomUUID());
          const init = method === 'POST' ? jsonPost({}) : { method };
          const [viaEdge, fromService] = [await through(`${edge.base}${url}`, init), await direct(`${origin}${url}`, init)];
          expect({ route: `${method} ${path}`, status: viaEdge.status, code: viaEdge.json?.code }).toEqual({
            route: `${method} ${path}`,
            status: fromService.status,
            code: fromService.json?.code,
          });
          expect(viaEdge.json?.code).not.toBe('ROUTE_NOT_FOUND');
          checked.push(`${method} ${path}`);
        }
      }
    }
    // The routes the issue names, at least: intake, email (sessions too), NIK, enrollment with batches and admin.
    expect(checked).toEqual(
      expect.arrayContaining([
        'POST /v1/registrations',
        'GET /v1/registrations/{id}',
        'POST /v1/registrations/{id}/nik',
        'POST /v1/email-verifications/{registrationId}/confirm',
        'POST /v1/sessions',
        'DELETE /v1/sessions',
        'GET /v1/nik-verifications/{registrationId}',
        'GET /v1/batches',
        'POST /v1/admin/batches',
        'POST /v1/enrollments',
        'DELETE /v1/enrollments/{registrationId}',
      ]),
    );
  });

  it("gives two clients behind the edge their own buckets, believes no client's X-Forwarded-For, and the intake believes only the edge", async () => {
    const [a, b] = [clientAt('127.0.0.2'), clientAt('127.0.0.3')];
    const post = (c: typeof a, headers: Record<string, string> = {}) => c(`${edge.base}/v1/registrations`, jsonPost({}, headers)).then((r) => r.status);
    // Burst 4, no refill to speak of: A's fifth is refused, whatever address A claims.
    const first = [await post(a), await post(a), await post(a), await post(a)];
    expect(first).toEqual([400, 400, 400, 400]);
    expect(await post(a)).toBe(429);
    expect(await post(a, { 'x-forwarded-for': '203.0.113.7' })).toBe(429);
    expect(await post(a, { forwarded: 'for=203.0.113.8', 'x-real-ip': '203.0.113.9' })).toBe(429);
    // B, behind the same edge, has a bucket of its own.
    expect(await post(b)).toBe(400);
    // Straight at the intake (not through the edge), A's forged header is not believed either: A is not the edge.
    const straight = await a(`${urls.intake}/v1/registrations`, jsonPost({}, { 'x-forwarded-for': '198.51.100.1' }));
    expect(straight.status).toBe(429);
  });

  it('behind a load balancer it trusts (EDGE_TRUST_PROXY), takes the client from its X-Forwarded-For, and from nobody else', async () => {
    const behind = await startEdge({
      EDGE_INTAKE_URL: urls.intake,
      EDGE_EMAIL_URL: urls.email,
      EDGE_NIK_URL: urls.nik,
      EDGE_ENROLLMENT_URL: urls.enrollment,
      EDGE_TRUST_PROXY: '127.0.0.4',
      LOG_LEVEL: 'warn',
    });
    try {
      const [balancer, stranger] = [clientAt('127.0.0.4'), clientAt('127.0.0.6')];
      const post = (c: typeof balancer, xff: string) => c(`${behind.base}/v1/registrations`, jsonPost({}, { 'x-forwarded-for': xff })).then((r) => r.status);
      // The balancer appends the address it saw: the edge takes the last one it does not trust.
      const one = [];
      for (let i = 0; i < 5; i++) one.push(await post(balancer, '203.0.113.50, 198.51.100.10'));
      expect(one).toEqual([400, 400, 400, 400, 429]);
      expect(await post(balancer, '198.51.100.11')).toBe(400); // another person behind the balancer
      // A caller that is not the balancer claims addresses in vain: all five count against it.
      const claims = [];
      for (let i = 0; i < 5; i++) claims.push(await post(stranger, `198.51.100.${20 + i}`));
      expect(claims).toEqual([400, 400, 400, 400, 429]);
    } finally {
      await stopEdge(behind);
    }
  });

  it('refuses a body over its limit itself, coded, before any service reads it', async () => {
    const r = await client(`${edge.base}/v1/registrations`, {
      ...jsonPost({ fullName: 'x'.repeat(17 * 1024) }),
      headers: { 'content-type': 'application/json', 'accept-language': 'en' },
    });
    expect(r.status).toBe(413);
    expect(r.json).toEqual({ code: 'BODY_TOO_LARGE', message: expect.any(String) });
    expect(r.headers['cache-control']).toBe('no-store');
  });

  it('sets the security headers, and no-store on what is not to be kept', async () => {
    const r = await client(`${edge.base}/v1/registrations`, jsonPost(person({}, new Date())));
    expect(r.status).toBe(202);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['content-security-policy']).toContain("default-src 'none'");
    expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['strict-transport-security']).toContain('max-age=');
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const refused = await client(`${edge.base}/v1/registrations/${randomUUID()}`);
    expect(refused.status).toBe(401);
    expect(refused.headers['cache-control']).toBe('no-store');
  });

  it('tags the status a frontend polls: private, revalidated, 304 when unchanged — and only for its owner', async () => {
    const created = await client(`${edge.base}/v1/registrations`, jsonPost(person({}, new Date())));
    expect(created.status).toBe(202);
    const id = created.json!.registrationId as string;
    const owner = asApplicant(id);
    const first = await client(`${edge.base}/v1/registrations/${id}`, { headers: owner });
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    expect(first.headers.vary).toContain('Authorization');
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await client(`${edge.base}/v1/registrations/${id}`, { headers: { ...owner, 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect(again.headers.etag).toBe(etag);
    // Someone else with the ETag learns nothing: the service refuses before any 304.
    const other = await client(`${edge.base}/v1/registrations/${id}`, { headers: { ...asApplicant(randomUUID()), 'if-none-match': etag } });
    expect(other.status).toBe(403);
    const none = await client(`${edge.base}/v1/registrations/${id}`, { headers: { 'if-none-match': etag } });
    expect(none.status).toBe(401);
  });

  it('tags the open batches as public for a few seconds, and a new batch changes the tag', async () => {
    const first = await client(`${edge.base}/v1/batches`);
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('public, max-age=5');
    const etag = first.headers.etag!;
    expect((await client(`${edge.base}/v1/batches`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const made = await client(`${edge.base}/v1/admin/batches`, jsonPost(batchBody(), { authorization: `Bearer ${en.adminToken}` }));
    expect(made.status).toBe(201);
    expect(made.headers['cache-control']).toBe('no-store');
    const after = await client(`${edge.base}/v1/batches`, { headers: { 'if-none-match': etag } });
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    // The operators' route is the service's to guard: through the edge without the token it is refused.
    expect((await client(`${edge.base}/v1/admin/batches`, jsonPost(batchBody()))).status).toBe(401);
  });

  it('serves /docs from its own bundle (nothing from elsewhere) over the committed merged document, under a CSP that names its one inline script', async () => {
    const page = await client(`${edge.base}/docs/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const sources = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) expect(s).not.toMatch(/^(https?:)?\/\//);
    const csp = page.headers['content-security-policy']!;
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain("'unsafe-inline' 'self'");
    expect(csp.split(';').find((d) => d.trim().startsWith('script-src'))).not.toContain('unsafe-inline');
    const bundle = await client(`${edge.base}/docs/js/scalar.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toContain('javascript');
    expect(bundle.text.length).toBeGreaterThan(100_000);
    // The merged document as committed (docs/api/openapi.json), and every path in it is one the edge routes.
    const doc = await client(`${edge.base}/docs/openapi.json`);
    expect(doc.status).toBe(200);
    expect(doc.text).toBe(readFileSync(join(__dirname, '../../../docs/api/openapi.json'), 'utf8'));
    const paths = Object.keys((doc.json as { paths: object }).paths);
    expect(paths.filter((p) => !EDGE_ROUTES.some((r) => p === r.prefix || p.startsWith(`${r.prefix}/`)))).toEqual([]);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/registrations',
        '/v1/email-verifications/{registrationId}/confirm',
        '/v1/nik-verifications/{registrationId}',
        '/v1/batches',
      ]),
    );
    expect((await client(`${edge.base}/docs/openapi.json`, { headers: { 'if-none-match': doc.headers.etag! } })).status).toBe(304);
  });

  it('serves the reference page at / from its directory, under the page CSP', async () => {
    const page = await client(`${edge.base}/`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Daftar Prakerja');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("script-src 'self';");
    const asset = await client(`${edge.base}/app.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=3600');
    const missing = await client(`${edge.base}/no/such/thing`);
    expect(missing.status).toBe(404);
    expect(missing.json?.code).toBe('ROUTE_NOT_FOUND');
  });

  it('is ready when every service behind it is, and logs each request without its secrets', async () => {
    const ready = await client(`${edge.base}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ status: 'ok', checks: { intake: 'ok', email: 'ok', 'nik-verification': 'ok', enrollment: 'ok' } });
    const token = asApplicant(randomUUID()).authorization;
    const p = person({}, new Date());
    await client(`${edge.base}/v1/registrations`, jsonPost(p, { authorization: token, cookie: 'gelombang_session=abc' }));
    await waitFor(async () => (edge.proc.output().includes('"url":"/v1/registrations"') ? true : undefined), 5_000, 'the request line');
    const lines = edge.proc
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ service: 'edge', level: expect.any(String) });
    for (const secret of [token.slice(7), p.nik, p.email, p.fullName]) expect(edge.proc.output()).not.toContain(secret);
  });
});

describe('the edge on its own (config, readiness, a service down, shutdown)', () => {
  it('refuses to start on a bad configuration, naming every bad key', async () => {
    const s = startServerProcess(EDGE, {
      HTTP_PORT: '0',
      EDGE_INTAKE_URL: 'ftp://x',
      EDGE_CORS_ORIGINS: 'http://localhost:5173/',
      EDGE_UPSTREAM_TIMEOUT_MS: '-1',
    });
    expect(await s.exited).toBe(1);
    expect(s.output()).toMatch(/^Invalid configuration:/);
    for (const key of ['EDGE_INTAKE_URL', 'EDGE_CORS_ORIGINS', 'EDGE_UPSTREAM_TIMEOUT_MS']) expect(s.output()).toContain(`${key}`);
  });

  it('is not ready while a service behind it is down, and answers its routes 503 coded, with Retry-After', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const edge = await startEdge({ EDGE_INTAKE_URL: dead, EDGE_EMAIL_URL: dead, EDGE_NIK_URL: dead, EDGE_ENROLLMENT_URL: dead, LOG_LEVEL: 'warn' });
    try {
      const ready = await client(`${edge.base}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.json).toMatchObject({ status: 'unavailable', checks: { intake: expect.stringMatching(/^fail/) } });
      const r = await client(`${edge.base}/v1/registrations`, { ...jsonPost({}), headers: { 'content-type': 'application/json', 'accept-language': 'en' } });
      expect(r.status).toBe(503);
      expect(r.json).toEqual({ code: 'EDGE_UPSTREAM_UNAVAILABLE', message: 'The service is unreachable right now. Try again in a moment.' });
      expect(r.headers['retry-after']).toBe('2');
      expect(r.headers['cache-control']).toBe('no-store');
    } finally {
      await stopEdge(edge);
    }
  });

  it('on SIGTERM turns not-ready, finishes the request in flight, and exits 0', async () => {
    // A slow service: its answer comes after the stop signal.

    const slow = createServer((req, res) => {
      if (req.url === '/health/ready') return void res.end('{}');
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'), 1_500);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const up = `http://127.0.0.1:${(slow.address() as { port: number }).port}`;
    const edge = await startEdge({
      EDGE_INTAKE_URL: up,
      EDGE_EMAIL_URL: up,
      EDGE_NIK_URL: up,
      EDGE_ENROLLMENT_URL: up,
      HTTP_SHUTDOWN_DRAIN_MS: '800',
      LOG_LEVEL: 'warn',
    });
    try {
      const inflight = client(`${edge.base}/v1/batches`);
      await new Promise((r) => setTimeout(r, 200));
      edge.proc.proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      expect((await client(`${edge.base}/health/ready`)).status).toBe(503);
      const answer = await inflight;
      expect(answer.status).toBe(200);
      expect(answer.text).toBe('[]');
      expect(answer.headers.connection).toBe('close'); // the client reconnects elsewhere
      expect(await edge.proc.exited).toBe(0);
    } finally {
      await stopEdge(edge);
      slow.close();
    }
  });
});
