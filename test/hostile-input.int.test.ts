import { mulberry32 } from '@gelombang/nik';
import { buildServices, closeServices, type ServiceUnderTest } from './helpers/services';

/*
 * "Bad input gets a clear, coded 4xx error; never a 5xx." Every route every service documents in its
 * OpenAPI gets malformed requests — wrong types, missing and unknown fields, odd path parameters, wrong
 * content types, oversized bodies, bad tokens — from a seeded generator (GELOMBANG_HOSTILE_SEED replays
 * a run). Every answer must be below 500, and every refusal must carry { code, message }.
 */

const SEED = Number(process.env.GELOMBANG_HOSTILE_SEED ?? Date.now() % 2 ** 31);
const PER_ROUTE = 40;

const PARAMS = ['0190f000-0000-7000-8000-000000000000', 'x', '%00', '..%2F..%2Fetc', 'a'.repeat(300), '😀', '1e309', 'null', ' ', 'gelombang-31'];
const FIELDS = [
  'nik',
  'email',
  'code',
  'registrationId',
  'batchId',
  'fullName',
  'birthDate',
  'quota',
  'opensAt',
  'closesAt',
  'people',
  'absent',
  'name',
  'phone',
];

function hostileValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * 12);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return Math.floor(r() * 2 ** 40) * (r() < 0.5 ? -1 : 1);
    case 2:
      return r() * 1e308;
    case 3:
      return '';
    case 4:
      return 'x'.repeat(Math.floor(r() * 5000));
    case 5:
      return '\u0000\u202e<script>';
    case 6:
      return r() < 0.5;
    case 7:
      return depth < 3 ? [hostileValue(r, depth + 1), hostileValue(r, depth + 1)] : [];
    case 8:
      return depth < 3 ? hostileBody(r, depth + 1) : {};
    case 9:
      return '2026-02-30';
    case 10:
      return '3204110609970001';
    default:
      return PARAMS[Math.floor(r() * PARAMS.length)];
  }
}

function hostileBody(r: () => number, depth = 0): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) body[r() < 0.8 ? FIELDS[Math.floor(r() * FIELDS.length)]! : `unknown${i}`] = hostileValue(r, depth);
  if (r() < 0.1) body.__proto__ = { polluted: true } as never;
  return body;
}

function hostileRequest(r: () => number, method: string, path: string) {
  const url = path.replace(/\{[^}]+\}|:[A-Za-z]+/g, () => encodeURIComponent(PARAMS[Math.floor(r() * PARAMS.length)]!));
  const kind = Math.floor(r() * 8);
  const headers: Record<string, string> = { 'accept-language': r() < 0.5 ? 'en' : 'id' };
  if (r() < 0.5) headers.authorization = r() < 0.5 ? 'Bearer wrong-token-wrong-token' : 'Basic Zm9v';
  let payload: string | undefined;
  if (method !== 'GET' && method !== 'DELETE') {
    if (kind === 0) payload = '{"unterminated": ';
    else if (kind === 1) {
      payload = 'plain text';
      headers['content-type'] = 'text/plain';
    } else if (kind === 2) payload = JSON.stringify({ big: 'y'.repeat(20 * 1024 * 1024) });
    else if (kind === 3) payload = JSON.stringify(hostileValue(r));
    else payload = JSON.stringify(hostileBody(r));
    headers['content-type'] ??= 'application/json';
  }
  return { method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) };
}

describe(`hostile input against every documented route (seed ${SEED})`, () => {
  let targets: ServiceUnderTest[] = [];

  beforeAll(async () => {
    targets = await buildServices();
  }, 120_000);

  afterAll(() => closeServices(targets));

  it('answers every malformed request with a coded 4xx (or a success), never a 5xx', async () => {
    const r = mulberry32(SEED);
    const failures: string[] = [];
    let sent = 0;
    const statuses = new Map<number, number>();
    for (const t of targets) {
      const spec = (await t.app.inject({ method: 'GET', url: '/docs/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
      const routes = Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => [m.toUpperCase(), path] as const));
      expect(routes.length).toBeGreaterThan(0);
      for (const [method, path] of routes) {
        for (let i = 0; i < PER_ROUTE; i++) {
          const req = hostileRequest(r, method, path);
          const res = await t.app.inject(req);
          sent++;
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          let body: { code?: unknown; message?: unknown } | undefined;
          try {
            body = res.json();
          } catch {
            body = undefined;
          }
          const coded = typeof body?.code === 'string' && typeof body?.message === 'string';
          if (res.statusCode >= 500 || (res.statusCode >= 400 && !coded)) {
            failures.push(`${t.name} ${method} ${req.url.slice(0, 80)} → ${res.statusCode} ${res.body.slice(0, 160)}`);
          }
        }
      }
    }
    expect(sent).toBeGreaterThan(100);
    // The generator must reach the different refusals (validation, unknown ids, auth, media type, size).
    for (const status of [400, 404, 413, 415]) expect({ status, seen: (statuses.get(status) ?? 0) > 0 }).toEqual({ status, seen: true });
    expect(failures.slice(0, 20)).toEqual([]);
  }, 300_000);

  it("answers the router's own refusals with coded, bilingual answers: an over-long path parameter is 404 ROUTE_NOT_FOUND, a broken percent-encoding 400 MALFORMED_URL", async () => {
    let checked = 0;
    for (const t of targets) {
      const spec = (await t.app.inject({ method: 'GET', url: '/docs/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
      for (const [path, ops] of Object.entries(spec.paths)) {
        if (!/\{[^}]+\}/.test(path)) continue;
        const method = Object.keys(ops)[0]!.toUpperCase() as 'GET';
        const withParam = (p: string) => path.replace(/\{[^}]+\}/g, p);
        for (const [lang, message] of [
          ['id', 'Alamat tidak dikenal.'],
          ['en', 'No such endpoint.'],
        ] as const) {
          const long = await t.app.inject({ method, url: withParam('a'.repeat(300)), headers: { 'accept-language': lang } });
          expect({ route: `${t.name} ${method} ${path}`, status: long.statusCode, body: long.json() }).toEqual({
            route: `${t.name} ${method} ${path}`,
            status: 404,
            body: { code: 'ROUTE_NOT_FOUND', message },
          });
        }
        const broken = await t.app.inject({ method, url: withParam('%E0%A4%A'), headers: { 'accept-language': 'en' } });
        expect({ route: `${t.name} ${method} ${path}`, status: broken.statusCode, code: broken.json().code }).toEqual({
          route: `${t.name} ${method} ${path}`,
          status: 400,
          code: 'MALFORMED_URL',
        });
        expect(broken.body).not.toContain('%E0');
        expect(broken.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5);
  });
});
