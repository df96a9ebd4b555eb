import { createHash, randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifyProxy from '@fastify/http-proxy';
import fastifyStatic from '@fastify/static';
import scalar from '@scalar/fastify-api-reference';
import { request } from 'undici';
import {
  AppError,
  BODY_TOO_LARGE,
  ROUTE_NOT_FOUND,
  INTERNAL_ERROR,
  healthPlugin,
  lazyRequestLogger,
  loggerOptions,
  memoizedTrust,
  pickLang,
  stackFrames,
  trustProxySetting,
  type ErrorDefinition,
} from '@gelombang/platform';
import type { EdgeConfig } from './config';
import { EDGE_UPSTREAM_FAILED, EDGE_UPSTREAM_TIMEOUT, EDGE_UPSTREAM_UNAVAILABLE } from './errors';
import { EDGE_ROUTES, cacheClassOf, upstreams, type CacheClass, type EdgeRoute } from './routes';
import { loadOpenApi, registerOpenApiRoute } from './docs';
import { DOCS_PREFIX, cspFor } from './csp';

export interface EdgeBuildOptions {
  /** A pino destination stream (tests capture log output through it). */
  logStream?: NodeJS.WritableStream;
}

/** The headers a browser script may read from an answer (CORS hides every other one). */
export const EXPOSED_HEADERS = [
  'location',
  'retry-after',
  'etag',
  'x-request-id',
  'www-authenticate',
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
];

/** What a browser may send across origins (besides the CORS-safelisted ones). */
export const ALLOWED_HEADERS = ['content-type', 'authorization', 'idempotency-key', 'accept-language', 'if-none-match', 'x-request-id'];

/** Request headers a client must not set for the services: the edge sets the first ones itself. */
const FORWARDING_HEADERS = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip', 'forwarded'];

const kCache = Symbol('edge.cache');
type Tagged = FastifyRequest & { [kCache]?: CacheClass };

function sendCoded(reply: FastifyReply, err: AppError, lang: 'id' | 'en') {
  for (const [k, v] of Object.entries(err.details.headers ?? {})) reply.header(k, v);
  return reply.status(err.statusCode).send({ code: err.code, message: err.messages[lang] });
}

/** The coded answer for a failed forward (reply-from's errors, by their code and status). */
function upstreamError(error: { code?: string; statusCode?: number; cause?: { code?: string } }): ErrorDefinition {
  const code = error.cause?.code ?? error.code ?? '';
  if (
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'FST_REPLY_FROM_SERVICE_UNAVAILABLE'].includes(code) ||
    error.code === 'FST_REPLY_FROM_SERVICE_UNAVAILABLE'
  )
    return EDGE_UPSTREAM_UNAVAILABLE;
  if (error.statusCode === 504) return EDGE_UPSTREAM_TIMEOUT;
  return EDGE_UPSTREAM_FAILED;
}

/** `"<hash>"` of a body: what If-None-Match is compared with. */
const etagOf = (body: Buffer) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;

/**
 * The one origin (decision 0018): every service's public routes by path prefix, CORS for the configured
 * origins with credentials, security headers, cache headers (no-store on personal answers, ETag and
 * revalidation on what a frontend polls), /docs over the merged OpenAPI document, the reference page
 * at /, and its own health (ready when every service behind it is).
 */
export async function buildEdge(config: EdgeConfig, o: EdgeBuildOptions = {}): Promise<FastifyInstance> {
  const logger = loggerOptions('edge', config.LOG_LEVEL);
  const app = Fastify({
    logger: o.logStream ? { ...logger, stream: o.logStream } : logger,
    trustProxy: memoizedTrust(trustProxySetting(config.EDGE_TRUST_PROXY)),
    // The edge names every request itself (a client's x-request-id is not believed) and hands the id on.
    genReqId: () => randomUUID(),
    childLoggerFactory: lazyRequestLogger as unknown as FastifyServerOptions['childLoggerFactory'],
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  const services = upstreams(config);

  // Security headers on every answer; the CSP is set per kind of answer below (helmet's would be one for all).
  await app.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: false,
    crossOriginResourcePolicy: { policy: 'same-site' },
    crossOriginEmbedderPolicy: false,
  });
  // Credentials: the applicant's session cookie travels with cross-origin calls from a listed origin.
  // An origin not listed gets an answer without any Access-Control-Allow-* header: the browser refuses it.
  const allowed = new Set(config.EDGE_CORS_ORIGINS);
  await app.register(fastifyCors, {
    origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'DELETE'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
    strictPreflight: true,
  });
  await app.register(healthPlugin);

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const path = req.url.split('?', 1)[0] ?? '/';
    // Stopping: every answer closes its connection, so clients reconnect elsewhere and the close is not
    // held up by keep-alive connections that would otherwise stay open for the whole keep-alive timeout.
    if (app.readiness.draining) reply.header('connection', 'close');
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', cspFor(path, payload));
    if (path.startsWith('/v1/')) {
      const cls = (req as Tagged)[kCache];
      const ok = reply.statusCode === 200 || reply.statusCode === 304;
      if (!reply.hasHeader('cache-control') || !ok) {
        reply.header(
          'cache-control',
          !ok || !cls ? 'no-store' : cls === 'personal' ? 'private, no-cache' : `public, max-age=${config.EDGE_PUBLIC_MAX_AGE_SEC}`,
        );
      }
      if (cls === 'personal') reply.header('vary', 'Origin, Authorization, Cookie');
    }
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const level = req.url.startsWith('/health/') ? 'debug' : 'info';
    if (!(req.log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled(level)) return;
    req.log[level](
      {
        req: { method: req.method, url: req.routeOptions.url ?? req.url.split('?', 1)[0], remoteAddress: req.ip },
        res: { statusCode: reply.statusCode },
        responseTime: reply.elapsedTime,
      },
      'request completed',
    );
  });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    const lang = pickLang(req.headers['accept-language']);
    if (err instanceof AppError) return sendCoded(reply, err, lang);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendCoded(reply, BODY_TOO_LARGE(), lang);
    req.log.error({ errName: err.name, errCode: err.code, stack: stackFrames(err) }, 'unhandled error');
    return sendCoded(reply, INTERNAL_ERROR(), lang);
  });
  app.setNotFoundHandler((req, reply) => sendCoded(reply, ROUTE_NOT_FOUND(), pickLang(req.headers['accept-language'])));

  // A request body is read whole (bounded) and sent on in one write with its headers: piping the
  // client's stream into the service's costs more CPU per request than the few hundred bytes are worth.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.EDGE_BODY_LIMIT_BYTES }, (_req, body, done) => done(null, body));
  for (const route of EDGE_ROUTES) await registerRoute(app, config, route);

  for (const s of services) {
    app.readiness.add(s.name, async () => {
      const res = await request(`${s.origin}/health/ready`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
      await res.body.dump();
      if (res.statusCode !== 200) throw Object.assign(new Error(`${s.name} not ready`), { name: 'NotReady' });
    });
  }

  const openApi = loadOpenApi(resolve(config.EDGE_OPENAPI_FILE));
  if (openApi) registerOpenApiRoute(app, openApi);
  else app.log.warn({ file: config.EDGE_OPENAPI_FILE }, 'no OpenAPI document: /docs has nothing to show');
  await app.register(scalar, {
    routePrefix: DOCS_PREFIX,
    configuration: {
      url: `${DOCS_PREFIX}/openapi.json`,
      pageTitle: 'Gelombang API',
      // Offline: the bundled script only, no web fonts or proxy from elsewhere.
      withDefaultFonts: false,
      hideClientButton: true,
    },
  });

  const webRoot = resolve(config.EDGE_WEB_ROOT);
  if (existsSync(webRoot) && statSync(webRoot).isDirectory()) {
    await app.register(fastifyStatic, {
      root: webRoot,
      prefix: '/',
      wildcard: true,
      index: ['index.html'],
      cacheControl: false,
      setHeaders: (res, file) => {
        // The page itself is asked for every time (a new deployment shows at once); its assets an hour.
        res.header('cache-control', file.endsWith('.html') ? 'no-cache' : 'public, max-age=3600');
      },
    });
  } else {
    app.log.warn({ webRoot }, 'no reference page built: / serves a placeholder');
    app.get('/', async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(
          '<!doctype html><html lang="id"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
            '<title>Gelombang</title></head><body><main><h1>Gelombang</h1>' +
            '<p>Halaman pendaftaran belum dibangun. <span lang="en">The registration page has not been built yet.</span></p>' +
            '<p><a href="/docs/">Dokumentasi API / API reference</a></p></main></body></html>',
        ),
    );
  }

  return app;
}

/** One prefix forwarded to its service: the client's address set by the edge, coded failures, ETags on polled answers. */
async function registerRoute(app: FastifyInstance, config: EdgeConfig, route: EdgeRoute): Promise<void> {
  await app.register(fastifyProxy, {
    upstream: config[route.upstream],
    prefix: route.prefix,
    rewritePrefix: route.prefix,
    // OPTIONS is CORS's (the preflight is answered here, never forwarded).
    httpMethods: ['DELETE', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH'],
    proxyPayloads: false,
    handler: (req, reply, dest, options) =>
      Buffer.isBuffer(req.body)
        ? reply.from(dest, { ...options, body: req.body, contentType: req.headers['content-type'] ?? 'application/octet-stream' })
        : reply.from(dest, options),
    // One line per request is the edge's own (onResponse); reply-from's two more would triple the log.
    disableRequestLogging: true,
    undici: { connections: config.EDGE_UPSTREAM_CONNECTIONS, pipelining: 1, keepAliveTimeout: 30_000 },
    preHandler: (req, _reply, done) => {
      if (req.method === 'GET') {
        const cls = cacheClassOf(route, req.url.split('?', 1)[0] ?? '');
        if (cls) (req as Tagged)[kCache] = cls;
      }
      done();
    },
    replyOptions: {
      timeout: config.EDGE_UPSTREAM_TIMEOUT_MS,
      // The client decides when to try again (Retry-After); the edge never repeats a request itself.
      retryDelay: () => null,
      rewriteRequestHeaders: (req, headers) => {
        for (const h of FORWARDING_HEADERS) delete headers[h];
        return {
          ...headers,
          'x-forwarded-for': req.ip,
          'x-forwarded-proto': req.protocol,
          'x-forwarded-host': req.host,
          'x-request-id': req.id,
        };
      },
      // Hop-by-hop: the service's keep-alive terms are not the edge's with its client.
      rewriteHeaders: (headers) => {
        delete headers['keep-alive'];
        delete headers.connection;
        return headers;
      },
      onError: (reply, { error }) => {
        const def = upstreamError(error as never);
        reply.request.log.warn({ upstream: route.upstream, errCode: (error as { code?: string }).code, edgeCode: def.code }, 'forward failed');
        const err = def === EDGE_UPSTREAM_UNAVAILABLE ? def({ headers: { 'retry-after': '2' } }) : def();
        void sendCoded(reply as unknown as FastifyReply, err, pickLang(reply.request.headers['accept-language']));
      },
      onResponse: (req, reply, res) => {
        const stream = res.stream as unknown as NodeJS.ReadableStream;
        if (!(req as unknown as Tagged)[kCache] || res.statusCode !== 200) return void reply.send(stream);
        void revalidated(req as FastifyRequest, reply as unknown as FastifyReply, stream);
      },
    },
  });
}

/** A polled answer: buffered (they are small), tagged, and 304 when the client already has it. */
async function revalidated(req: FastifyRequest, reply: FastifyReply, stream: NodeJS.ReadableStream): Promise<void> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  } catch (e) {
    req.log.warn({ errName: (e as Error).name }, 'upstream body failed');
    return void sendCoded(reply, EDGE_UPSTREAM_FAILED(), pickLang(req.headers['accept-language']));
  }
  const body = Buffer.concat(chunks);
  const etag = (reply.getHeader('etag') as string | undefined) ?? etagOf(body);
  reply.header('etag', etag);
  const asked = req.headers['if-none-match'];
  if (asked && asked.split(',').some((t) => t.trim().replace(/^W\//, '') === etag.replace(/^W\//, ''))) {
    reply.removeHeader('content-length');
    reply.removeHeader('content-type');
    return void reply.code(304).send();
  }
  reply.header('content-length', body.length);
  reply.send(body);
}
