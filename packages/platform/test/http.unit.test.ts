import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { z } from 'zod';
import { clientKey, createServer } from '../src/http';
import { SERVICE_UNAVAILABLE } from '../src/errors';

function captureLogs() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, stream };
}

async function build(logStream: NodeJS.WritableStream = captureLogs().stream) {
  const app = await createServer({
    service: 'test',
    logLevel: 'info',
    bodyLimit: 1024,
    logStream,
    fieldMessages: { NIK_FORMAT: { id: 'NIK harus 16 angka.', en: 'The NIK must be 16 digits.' } },
  });
  app.post(
    '/echo',
    {
      schema: {
        body: z.strictObject({
          nik: z.string().refine((v) => /^\d{16}$/.test(v), { params: { code: 'NIK_FORMAT' } }),
          age: z.number().int(),
        }),
      },
    },
    async (req) => {
      req.log.info({ nik: req.body.nik, email: 'x@y.id', nested: { phone: '0812' } }, 'should be redacted');
      return { ok: true };
    },
  );
  app.get('/busy', async () => {
    throw SERVICE_UNAVAILABLE({ headers: { 'retry-after': '2' } });
  });
  app.get('/boom', async () => {
    throw new Error('driver said: value 3204110609970001 violates constraint');
  });
  await app.ready();
  return app;
}

describe('createServer', () => {
  it('lists every bad field with a code, in Indonesian by default and English on request', async () => {
    const app = await build();
    const body = { nik: '12', age: 'x', extra: 1 };
    const id = await app.inject({ method: 'POST', url: '/echo', payload: body });
    expect(id.statusCode).toBe(400);
    expect(id.json()).toEqual({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('tidak valid'),
      errors: expect.arrayContaining([
        { field: 'nik', code: 'NIK_FORMAT', message: 'NIK harus 16 angka.' },
        { field: 'age', code: 'FIELD_INVALID_TYPE', message: 'Jenis data salah.' },
        { field: 'extra', code: 'FIELD_UNKNOWN', message: 'Kolom tidak dikenal.' },
      ]),
    });
    const en = await app.inject({ method: 'POST', url: '/echo', payload: { age: 1 }, headers: { 'accept-language': 'en-US' } });
    expect(en.json().errors).toEqual([{ field: 'nik', code: 'FIELD_REQUIRED', message: 'Required.' }]);
    await app.close();
  });

  it('answers 413 for a large body, 415 for a non-JSON body and 400 for broken JSON, all coded', async () => {
    const app = await build();
    const big = await app.inject({ method: 'POST', url: '/echo', payload: { nik: 'x'.repeat(2000), age: 1 } });
    expect([big.statusCode, big.json().code]).toEqual([413, 'BODY_TOO_LARGE']);
    const text = await app.inject({ method: 'POST', url: '/echo', payload: 'hello', headers: { 'content-type': 'text/plain' } });
    expect([text.statusCode, text.json().code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const broken = await app.inject({ method: 'POST', url: '/echo', payload: '{"nik":', headers: { 'content-type': 'application/json' } });
    expect([broken.statusCode, broken.json().code]).toEqual([400, 'MALFORMED_JSON']);
    await app.close();
  });

  it('passes coded errors through with their headers and hides unexpected ones behind INTERNAL_ERROR', async () => {
    const { lines, stream } = captureLogs();
    const app = await build(stream);
    const busy = await app.inject({ method: 'GET', url: '/busy', headers: { 'accept-language': 'en' } });
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('2');
    expect(busy.json()).toEqual({ code: 'SERVICE_UNAVAILABLE', message: expect.stringContaining('not accepted') });
    const boom = await app.inject({ method: 'GET', url: '/boom' });
    expect([boom.statusCode, boom.json().code]).toEqual([500, 'INTERNAL_ERROR']);
    expect(boom.body).not.toContain('3204110609970001');
    await app.close();
    expect(lines.join('')).not.toContain('3204110609970001');
  });

  it('redacts personal data in log lines and echoes a request id', async () => {
    const { lines, stream } = captureLogs();
    const app = await build(stream);
    const res = await app.inject({ method: 'POST', url: '/echo', payload: { nik: '3204110609970001', age: 30 }, headers: { 'x-request-id': 'abc-123' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toBe('abc-123');
    await app.close();
    const all = lines.join('');
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'should be redacted');
    expect(line).toMatchObject({ nik: '[redacted]', email: '[redacted]', nested: { phone: '[redacted]' }, reqId: 'abc-123', service: 'test' });
    expect(all).not.toContain('3204110609970001');
    expect(all).not.toContain('x@y.id');
  });

  it('serves liveness, readiness (turning 503 when a check fails or while draining), metrics and OpenAPI', async () => {
    const app = await build();
    let healthy = true;
    app.readiness.add('dep', async () => {
      if (!healthy) throw new Error('down');
    });
    expect((await app.inject('/health/live')).statusCode).toBe(200);
    expect((await app.inject('/health/ready')).json()).toEqual({ status: 'ok', checks: { dep: 'ok' } });
    healthy = false;
    const down = await app.inject('/health/ready');
    expect([down.statusCode, down.json().checks.dep]).toEqual([503, 'fail: Error']);
    healthy = true;
    app.readiness.drain();
    expect((await app.inject('/health/ready')).statusCode).toBe(503);
    expect((await app.inject('/metrics')).body).toContain('process_cpu_user_seconds_total');
    const spec = (await app.inject('/docs/openapi.json')).json();
    expect(spec.openapi).toBe('3.1.0');
    expect(spec.paths['/echo'].post.requestBody.content['application/json'].schema.required).toEqual(['nik', 'age']);
    await app.close();
  });
});

describe('trusted proxies', () => {
  it('takes the client address from X-Forwarded-For only when a trusted proxy (here loopback) sent it, request after request', async () => {
    const app = await createServer({ service: 'test', logLevel: 'warn', bodyLimit: 1024, trustProxy: 'loopback' });
    app.get('/ip', async (req) => ({ ip: req.ip }));
    await app.ready();
    for (let i = 0; i < 3; i++) {
      const viaProxy = await app.inject({ url: '/ip', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': `203.0.113.${i}` } });
      expect(viaProxy.json()).toEqual({ ip: `203.0.113.${i}` });
      const direct = await app.inject({ url: '/ip', remoteAddress: '198.51.100.9', headers: { 'x-forwarded-for': '203.0.113.50' } });
      expect(direct.json()).toEqual({ ip: '198.51.100.9' });
      // A chain: only the hops from trusted proxies are skipped.
      const chain = await app.inject({ url: '/ip', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.60, 198.51.100.10' } });
      expect(chain.json()).toEqual({ ip: '198.51.100.10' });
    }
    await app.close();
  });

  it.each([false, ''])('trusts nobody when told so (%j)', async (trustProxy) => {
    const app = await createServer({ service: 'test', logLevel: 'warn', bodyLimit: 1024, trustProxy: trustProxy as false });
    app.get('/ip', async (req) => ({ ip: req.ip }));
    const res = await app.inject({ url: '/ip', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.1' } });
    expect(res.json()).toEqual({ ip: '127.0.0.1' });
    await app.close();
  });
});

describe('request loggers', () => {
  it("carry each request's own id (concurrent requests, children of them, rebinding) and stay redacted", async () => {
    const { lines, stream } = captureLogs();
    const app = await createServer({ service: 'test', logLevel: 'info', bodyLimit: 1024, logStream: stream });
    app.get('/log/:n', async (req) => {
      const { n } = req.params as { n: string };
      await new Promise((r) => setTimeout(r, 5 - Number(n))); // interleave the requests
      req.log.info({ n, nik: '3204110609970001' }, 'first');
      const child = req.log.child({ step: `s${n}` });
      child.info('from a child');
      // The service's logger is pino's (Fastify's type only says FastifyBaseLogger).
      if (n === '2') (req.log as unknown as Logger).setBindings({ phase: 'late' });
      req.log.info('second');
      return {};
    });
    await Promise.all(['1', '2', '3'].map((n) => app.inject({ url: `/log/${n}`, headers: { 'x-request-id': `req-${n}` } })));
    await app.inject({ url: '/log/4' }); // no id given: a generated one
    await app.close();
    const parsed = lines.map((l) => JSON.parse(l));
    for (const n of ['1', '2', '3']) {
      expect(parsed.find((l) => l.msg === 'first' && l.n === n)).toMatchObject({ reqId: `req-${n}`, nik: '[redacted]', service: 'test' });
      expect(parsed.find((l) => l.msg === 'from a child' && l.step === `s${n}`)).toMatchObject({ reqId: `req-${n}`, service: 'test' });
      const second = parsed.filter((l) => l.msg === 'second' && l.reqId === `req-${n}`);
      expect(second).toHaveLength(1);
      expect(second[0].phase).toBe(n === '2' ? 'late' : undefined);
    }
    const generated = parsed.find((l) => l.msg === 'first' && l.n === '4');
    expect(generated.reqId).toMatch(/^[0-9a-f-]{36}$/);
    // The completion line of each request carries its id too.
    expect(
      parsed
        .filter((l) => l.msg === 'request completed')
        .map((l) => l.reqId)
        .sort(),
    ).toEqual([generated.reqId, 'req-1', 'req-2', 'req-3'].sort());
    expect(lines.join('')).not.toContain('3204110609970001');
  });
});

describe('clientKey', () => {
  it('keeps IPv4, unwraps IPv4-mapped IPv6 and counts IPv6 by its /64', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });
});
