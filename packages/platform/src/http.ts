import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { swaggerOptions } from './openapi';
import type { z } from 'zod';
import { compile as compileTrust } from '@fastify/proxy-addr';
import { symbols as pinoSymbols, type Logger } from 'pino';
import { hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  AppError,
  BODY_TOO_LARGE,
  INTERNAL_ERROR,
  MALFORMED_JSON,
  MALFORMED_URL,
  ROUTE_NOT_FOUND,
  SERVICE_UNAVAILABLE,
  STORE_UNAVAILABLE,
  UNSUPPORTED_MEDIA_TYPE,
  VALIDATION_FAILED,
  pickLang,
  stackFrames,
  type Messages,
} from './errors';
import { trustProxySetting, type BaseConfig } from './config';
import { loggerOptions } from './logger';
import { toFieldErrors } from './validation';
import { unavailableKind } from './unavailable';
import { healthPlugin } from './plugins/health';
import { metricsPlugin } from './plugins/metrics';

export interface ServerOptions {
  service: string;
  version?: string;
  description?: string;
  logLevel: string;
  bodyLimit: number;
  /** Domain field codes → messages, for 400 VALIDATION_FAILED. */
  fieldMessages?: Record<string, Messages>;
  /** A pino destination stream (tests capture log output through it). */
  logStream?: NodeJS.WritableStream;
  trustProxy?: FastifyServerOptions['trustProxy'];
  /** Seconds a 503 for a datastore outage asks the client to wait (Retry-After); default 5. */
  retryAfterSec?: number;
}

/** A service's Fastify instance: zod-typed routes; the platform plugins add their decorators to it. */
export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

declare module 'fastify' {
  interface FastifyInstance {
    /** The service's name (logs, metrics, the PostgreSQL application_name, the Kafka client id). */
    serviceName: string;
  }
}

/** A request marked so is not logged on completion (a service's in-process warm-up requests). */
const UNLOGGED = Symbol.for('gelombang.unlogged');
export function markUnlogged(req: FastifyRequest): void {
  (req as unknown as Record<symbol, boolean>)[UNLOGGED] = true;
}

function sendError(reply: FastifyReply, err: AppError, lang: 'id' | 'en') {
  for (const [k, v] of Object.entries(err.details.headers ?? {})) reply.header(k, v);
  return reply.status(err.statusCode).send({
    code: err.code,
    message: err.messages[lang],
    ...(err.details.errors ? { errors: err.details.errors } : {}),
    ...(err.details.extra ?? {}),
  });
}

/**
 * Fastify compiles a trusted-proxy list (`'loopback'`, CIDRs) into a function that parses the address
 * with ipaddr.js on every call, and `request.ip` calls it on every read — the rate limiter reads it on
 * every request. The answer for an address never changes, so it is remembered (bounded: the table
 * starts over past 10,000 addresses). `true`, `false`, hop counts and functions pass through.
 */
export function memoizedTrust(tp: FastifyServerOptions['trustProxy']): FastifyServerOptions['trustProxy'] {
  // '' is Fastify's "trust nobody" too (it tests the setting for truth).
  if (!tp || (typeof tp !== 'string' && !Array.isArray(tp))) return tp;
  const trust = compileTrust(typeof tp === 'string' ? tp.split(',').map((s) => s.trim()) : tp);
  const known = new Map<string, boolean>();
  return (address: string, hop: number) => {
    let trusted = known.get(address);
    if (trusted === undefined) {
      trusted = trust(address, hop);
      if (known.size >= 10_000) known.clear();
      known.set(address, trusted);
    }
    return trusted;
  };
}

/**
 * Fastify gives every request a pino child logger carrying its request id. Making one is not free with
 * redaction on (the bindings go through the redaction serialiser: ~8 % of what the intake API allocated
 * per registration, sampled), and most requests never log a line. This child is the parent with the
 * request id added when the first line is written: it reads the parent's settings, and its bindings
 * are computed on first use. A route with its own log level or serialisers gets an ordinary child.
 */
export function lazyRequestLogger(logger: Logger, bindings: Record<string, unknown>, opts: { level?: string; serializers?: unknown }): Logger {
  if (opts.level || opts.serializers) return logger.child(bindings, opts as never);
  const key = pinoSymbols.chindingsSym;
  const child = Object.create(logger) as Logger;
  let own: string | undefined;
  Object.defineProperty(child, key, {
    configurable: true,
    get(this: object) {
      return (own ??= (logger.child(bindings) as unknown as Record<symbol, string>)[key]);
    },
    set(this: object, value: string) {
      // pino's child() and setBindings() assign it: on this logger, or on a child made from it.
      if (this === child) own = value;
      else Object.defineProperty(this, key, { value, writable: true, configurable: true });
    },
  });
  return child;
}

/**
 * The Fastify bootstrap every service uses: pino with redaction, request ids, zod validation and
 * serialisation, OpenAPI at /docs/openapi.json, Prometheus at /metrics, health at /health/*, and one
 * error handler that turns everything into a coded answer. Never listens: server.ts does.
 */
export async function createServer(opts: ServerOptions): Promise<App> {
  const logger = opts.logStream ? { ...loggerOptions(opts.service, opts.logLevel), stream: opts.logStream } : loggerOptions(opts.service, opts.logLevel);
  const app = Fastify({
    logger,
    // A process restarted right after a crash (SIGKILL, a lost pod) joins its consumer groups only once
    // the dead member's Kafka session (15 s) has expired and the group rebalanced: Fastify's default 10 s
    // per plugin made such a restart fail "plugin did not start in time" and loop (chaos suite, #14).
    pluginTimeout: 60_000,
    bodyLimit: opts.bodyLimit,
    trustProxy: memoizedTrust(opts.trustProxy ?? false),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    childLoggerFactory: lazyRequestLogger as unknown as FastifyServerOptions['childLoggerFactory'],
    // One line per request (onResponse below) instead of Fastify's two: during a surge the log volume
    // is itself a load. (Fastify 5.12's non-deprecated spelling of `disableRequestLogging: true`.)
    logController: new LogController({ disableRequestLogging: true }),
    // Refusals the router makes before any route runs get coded answers like every other: a path
    // parameter over find-my-way's 100 characters is an address no service has (404, as before
    // Fastify 5.12 answered it itself with an uncoded 414), a parameter whose percent-encoding does
    // not decode is malformed (400). Fastify's own answers carried no code and echoed the path.
    frameworkErrors: (err, req, reply) => {
      // These requests never reach the hooks (onSend sets it for every other answer).
      reply.header('x-request-id', req.id);
      const lang = pickLang(req.headers['accept-language']);
      if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return void sendError(reply, ROUTE_NOT_FOUND(), lang);
      if (err.code === 'FST_ERR_BAD_URL') return void sendError(reply, MALFORMED_URL(), lang);
      req.log.error({ errName: err.name, errCode: err.code }, 'router refused the request');
      void sendError(reply, INTERNAL_ERROR(), lang);
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }).withTypeProvider<ZodTypeProvider>();

  // Only JSON is accepted: without this, text/plain bodies would reach validation as strings.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.decorate('serviceName', opts.service);

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    // Draining (a stop signal came): a keep-alive client reconnects, and the balancer sends it elsewhere.
    if (app.readiness.draining) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (req, reply) => {
    if ((req as unknown as Record<symbol, boolean>)[UNLOGGED]) return;
    // Health probes and metric scrapes at debug: they would drown everything else.
    const level = req.url.startsWith('/health/') || req.url === '/metrics' ? 'debug' : 'info';
    // Checked first: building the line (and req.ip, a proxy-chain parse on every read) costs even when it is dropped.
    if (!(req.log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled(level)) return;
    req.log[level](
      {
        req: { method: req.method, url: req.routeOptions.url ?? req.url, remoteAddress: req.ip },
        res: { statusCode: reply.statusCode },
        responseTime: reply.elapsedTime,
      },
      'request completed',
    );
  });

  const fieldMessages = opts.fieldMessages ?? {};
  const retryAfterSec = opts.retryAfterSec ?? 5;
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const lang = pickLang(req.headers['accept-language']);
    if (err instanceof AppError) {
      if (err.statusCode >= 500) req.log.warn({ code: err.code }, 'request failed');
      return sendError(reply, err, lang);
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      // The type provider flattens each zod issue into an AJV-style error whose params hold the issue's
      // other fields; rebuilt (code, path) for toFieldErrors. The type of `params` cannot say which
      // issue it was, hence the cast.
      const issues = err.validation.map((v) => ({
        ...v.params,
        code: v.keyword,
        message: v.message,
        path: String(v.instancePath ?? '')
          .split('/')
          .slice(1)
          .filter(Boolean),
      })) as unknown as z.core.$ZodIssue[];
      return sendError(reply, VALIDATION_FAILED({ errors: toFieldErrors(issues, lang, fieldMessages) }), lang);
    }
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, BODY_TOO_LARGE(), lang);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, UNSUPPORTED_MEDIA_TYPE(), lang);
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, MALFORMED_JSON(), lang);
    }
    if (err.statusCode === 400 && err instanceof SyntaxError) return sendError(reply, MALFORMED_JSON(), lang);
    // A datastore away (refused, dropped, hung past its timeout) is not a bug: the client may retry.
    const unavailable = unavailableKind(err);
    if (unavailable) {
      req.log.warn({ errName: err?.name, errCode: err?.code, store: unavailable }, 'datastore unavailable');
      const headers = { 'retry-after': String(retryAfterSec) };
      return sendError(reply, unavailable === 'kafka' ? SERVICE_UNAVAILABLE({ headers }) : STORE_UNAVAILABLE({ headers }), lang);
    }
    req.log.error({ errName: err?.name, errCode: err?.code, stack: stackFrames(err) }, 'unhandled error');
    return sendError(reply, INTERNAL_ERROR(), lang);
  });

  app.setNotFoundHandler((req, reply) => sendError(reply, ROUTE_NOT_FOUND(), pickLang(req.headers['accept-language'])));
  // After the error handler: a route takes the handler set when its plugin loads.
  await app.register(metricsPlugin, { service: opts.service });
  await app.register(healthPlugin);

  // The document every service serves (decision 0019; openapi.ts).
  await app.register(fastifySwagger, swaggerOptions(app, opts));
  app.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return app;
}

/** What every service's configuration says about its HTTP server (baseEnv; HTTP_TRUST_PROXY where offered). */
export type ServiceHttpConfig = Pick<BaseConfig, 'LOG_LEVEL' | 'HTTP_BODY_LIMIT_BYTES'> & { HTTP_TRUST_PROXY?: string; RETRY_AFTER_SEC?: number };

/** What tests pass every service's buildApp. */
export interface ServiceBuildOptions {
  /** A pino destination stream (tests capture log output through it). */
  logStream?: NodeJS.WritableStream;
  /** Consumers begin at the topics' ends (tests share topics with everything else on the broker). */
  consumerStartAt?: 'committed' | 'end';
}

/**
 * A service's app: createServer with its validated settings, then `compose` — the service's ordered
 * registrations. Fastify runs no onClose hook of its own when a registration fails, so a failing
 * `compose` (a broker that refuses, a topic that is missing) would leave open everything the earlier
 * registrations opened: the app is closed (their hooks run, newest first) before the error goes on.
 */
export async function createService(
  config: ServiceHttpConfig,
  o: Pick<ServerOptions, 'service' | 'description' | 'fieldMessages' | 'logStream'>,
  compose: (app: App) => Promise<void>,
): Promise<App> {
  const app = await createServer({
    ...o,
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.HTTP_BODY_LIMIT_BYTES,
    trustProxy: trustProxySetting(config.HTTP_TRUST_PROXY ?? 'false'),
    retryAfterSec: config.RETRY_AFTER_SEC,
  });
  try {
    await compose(app);
  } catch (e) {
    await app.close().catch((closing: Error) => app.log.error({ errName: closing.name }, 'closing after a failed start failed too'));
    throw e;
  }
  return app;
}

/**
 * The key a per-client limit counts under: an IPv4 address as it is (an IPv4-mapped IPv6 address as
 * its IPv4), an IPv6 address by its /64 — one subscriber line or phone gets a whole /64, so counting
 * single IPv6 addresses would give one client 2^64 fresh buckets.
 */
export function clientKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  let addr = ip.toLowerCase();
  const zone = addr.indexOf('%');
  if (zone >= 0) addr = addr.slice(0, zone);
  if (addr.startsWith('::ffff:') && addr.includes('.')) return addr.slice(7);
  const gap = addr.indexOf('::');
  const head = (gap >= 0 ? addr.slice(0, gap) : addr).split(':').filter(Boolean);
  const tail =
    gap >= 0
      ? addr
          .slice(gap + 2)
          .split(':')
          .filter(Boolean)
      : [];
  const groups = gap >= 0 ? [...head, ...new Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail] : head;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
