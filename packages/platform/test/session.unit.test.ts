import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  createServer,
  loadConfig,
  generateSessionKeys,
  sessionSignEnv,
  sessionVerifyEnv,
  SessionIssuer,
  SESSION_COOKIE,
  applicantOnly,
  sessionPlugin,
  setSessionCookie,
} from '@gelombang/platform';

const keys = generateSessionKeys();
const other = generateSessionKeys();
const config = (env: Record<string, string>) => loadConfig(z.object({ ...sessionVerifyEnv, ...sessionSignEnv }), env);
const cfg = config({ ...keys, SESSION_FRESH_SEC: '600', SESSION_TTL_SEC: '900' });
const issuer = new SessionIssuer(cfg);

async function build() {
  const app = await createServer({ service: 'test', logLevel: 'silent', bodyLimit: 1024 });
  await app.register(sessionPlugin, { config: cfg });
  const params = { params: z.object({ id: z.uuid() }) };
  app.get('/things/:id', { ...applicantOnly(app, { owner: (req) => (req.params as { id: string }).id }), schema: params }, async (req) => ({
    sub: req.applicantSession?.registrationId,
  }));
  app.delete('/things/:id', { ...applicantOnly(app, { owner: (req) => (req.params as { id: string }).id, fresh: true }), schema: params }, async () => ({
    ok: true,
  }));
  app.post(
    '/acts',
    {
      ...applicantOnly(app, { owner: (req) => (req.body as { registrationId?: string }).registrationId }),
      schema: { body: z.object({ registrationId: z.uuid() }) },
    },
    async () => ({ ok: true }),
  );
  app.post('/issue/:id', { schema: params }, async (req, reply) => {
    const s = issuer.issue(req.params.id);
    setSessionCookie(reply, s);
    return { token: s.token };
  });
  await app.ready();
  return app;
}

describe('applicant sessions (EdDSA JWT, verified locally)', () => {
  let app: Awaited<ReturnType<typeof build>>;
  beforeAll(async () => {
    app = await build();
  });
  afterAll(() => app.close());
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('lets the owner in by header or by cookie, and the cookie is HttpOnly, Secure, SameSite=Strict', async () => {
    const id = randomUUID();
    const issued = await app.inject({ method: 'POST', url: `/issue/${id}` });
    const cookie = issued.cookies.find((c) => c.name === SESSION_COOKIE)!;
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    expect(cookie.maxAge).toBeGreaterThan(800);
    const token = issued.json<{ token: string }>().token;
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'EdDSA', kid: expect.any(String) });
    for (const headers of [bearer(token), { cookie: `${SESSION_COOKIE}=${cookie.value}` }]) {
      const res = await app.inject({ method: 'GET', url: `/things/${id}`, headers });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ sub: id });
    }
  });

  it('answers 401 SESSION_REQUIRED with a Bearer challenge without a session, or with a forged or foreign-key one', async () => {
    const id = randomUUID();
    const token = issuer.issue(id).token;
    const [h, p] = token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: randomUUID() })).toString('base64url');
    const foreign = new SessionIssuer(config({ ...other, SESSION_FRESH_SEC: '600' })).issue(id).token;
    for (const headers of [{}, bearer('nonsense'), bearer(`${h}.${forgedPayload}.${token.split('.')[2]}`), bearer(foreign), { authorization: 'Basic abc' }]) {
      const res = await app.inject({ method: 'GET', url: `/things/${id}`, headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'SESSION_REQUIRED' });
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('answers 401 before reading the body, and 403 SESSION_FORBIDDEN for another registration (path or body)', async () => {
    const mine = randomUUID();
    const token = issuer.issue(mine).token;
    const noSession = await app.inject({ method: 'POST', url: '/acts', payload: { registrationId: 'not-a-uuid' } });
    expect(noSession.statusCode).toBe(401);
    const someoneElse = randomUUID();
    const get = await app.inject({ method: 'GET', url: `/things/${someoneElse}`, headers: bearer(token) });
    expect(get.statusCode).toBe(403);
    expect(get.json()).toMatchObject({ code: 'SESSION_FORBIDDEN' });
    const post = await app.inject({ method: 'POST', url: '/acts', headers: bearer(token), payload: { registrationId: someoneElse } });
    expect(post.statusCode).toBe(403);
    const own = await app.inject({ method: 'POST', url: '/acts', headers: bearer(token), payload: { registrationId: mine } });
    expect(own.statusCode).toBe(200);
    const en = await app.inject({ method: 'GET', url: `/things/${someoneElse}`, headers: { ...bearer(token), 'accept-language': 'en' } });
    expect(en.json<{ message: string }>().message).toBe('This session belongs to another registration.');
  });

  it('answers 401 SESSION_EXPIRED after the token expires, and SESSION_NOT_FRESH on a fresh-only step for an old proof', async () => {
    const id = randomUUID();
    const shortLived = new SessionIssuer(config({ ...keys, SESSION_TTL_SEC: '60' }));
    const realNow = Date.now;
    let token: string;
    try {
      Date.now = () => realNow() - 61_000;
      token = shortLived.issue(id).token;
    } finally {
      Date.now = realNow;
    }
    const expired = await app.inject({ method: 'GET', url: `/things/${id}`, headers: bearer(token) });
    expect(expired.statusCode).toBe(401);
    expect(expired.json()).toMatchObject({ code: 'SESSION_EXPIRED' });

    const old = issuer.issue(id, Date.now() - 601_000).token; // a refreshed session: valid, but its code was proved 10 min ago
    expect((await app.inject({ method: 'GET', url: `/things/${id}`, headers: bearer(old) })).statusCode).toBe(200);
    const del = await app.inject({ method: 'DELETE', url: `/things/${id}`, headers: bearer(old) });
    expect(del.statusCode).toBe(401);
    expect(del.json()).toMatchObject({ code: 'SESSION_NOT_FRESH' });
    const fresh = await app.inject({ method: 'DELETE', url: `/things/${id}`, headers: bearer(issuer.issue(id).token) });
    expect(fresh.statusCode).toBe(200);
  });

  it('refuses keys that are not Ed25519 at boot, without echoing them', () => {
    expect(() => config({ SESSION_VERIFY_KEYS: 'c2VjcmV0', SESSION_SIGNING_KEY: keys.SESSION_SIGNING_KEY })).toThrow(/SESSION_VERIFY_KEYS: each entry must be/);
    expect(() => config({ SESSION_VERIFY_KEYS: keys.SESSION_VERIFY_KEYS, SESSION_SIGNING_KEY: 'c2VjcmV0' })).toThrow(/SESSION_SIGNING_KEY: must be base64/);
    try {
      config({ SESSION_VERIFY_KEYS: 'c2VjcmV0', SESSION_SIGNING_KEY: 'c2VjcmV0' });
    } catch (e) {
      expect(String(e)).not.toContain('c2VjcmV0');
    }
  });

  it('verifies with any configured key while one is rotated out', async () => {
    const both = config({ SESSION_VERIFY_KEYS: `${other.SESSION_VERIFY_KEYS},${keys.SESSION_VERIFY_KEYS}`, SESSION_SIGNING_KEY: other.SESSION_SIGNING_KEY });
    const rotated = await createServer({ service: 'test', logLevel: 'silent', bodyLimit: 1024 });
    await rotated.register(sessionPlugin, { config: both });
    rotated.get('/me', { ...applicantOnly(rotated, { owner: (req) => req.applicantSession?.registrationId }) }, async () => ({ ok: true }));
    await rotated.ready();
    try {
      for (const iss of [issuer, new SessionIssuer(both)]) {
        const res = await rotated.inject({ method: 'GET', url: '/me', headers: bearer(iss.issue(randomUUID()).token) });
        expect(res.statusCode).toBe(200);
      }
    } finally {
      await rotated.close();
    }
  });
});
