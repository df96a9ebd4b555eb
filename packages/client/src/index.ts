import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { ApiError, toApiError, type Lang } from './errors';
import { DEFAULT_RETRY, retryingFetch, type RetryOptions } from './retry';
import { endsSession, issuesSession, SessionHolder, type SessionMode, type SessionView } from './session';
import type { components, paths } from './schema';

export { ApiError, toApiError, type ErrorBody, type FieldError, type Lang } from './errors';
export { backoffMs, isRetryable, retryAfterMs, retryingFetch, DEFAULT_RETRY, type RetryOptions } from './retry';
export { SessionHolder, type SessionMode, type SessionView } from './session';
export type { components, paths } from './schema';

export type Api = Client<paths>;

export interface ClientOptions {
  /** Where the API is: '' (the default) for the page's own origin, e.g. 'http://127.0.0.1:8080' otherwise. */
  baseUrl?: string;
  /** The language of messages (Accept-Language): Indonesian unless the applicant chose English. */
  lang?: Lang;
  /** 'bearer' (default; apps, tests) or 'cookie' (a page on the API's own origin: the HttpOnly cookie). */
  session?: SessionMode;
  retry?: Partial<RetryOptions>;
  /** The fetch to send with (default: the global one). */
  fetch?: (req: Request) => Promise<Response>;
  /** Makes the Idempotency-Key of a POST (default: a random UUID). */
  idempotencyKey?: () => string;
}

/** A UUID v4 from getRandomValues (crypto.randomUUID needs a secure context; a phone on a LAN address is not one). */
export function randomKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface GelombangClient {
  /** The typed openapi-fetch client: `api.POST('/v1/registrations', { body })` → `{ data, error, response }`. */
  api: Api;
  session: SessionHolder;
  lang: Lang;
  /** The data of a successful answer; an ApiError (coded, in `lang`) for a refused one or a network failure. */
  ok<R extends { data?: unknown; error?: unknown; response: Response }>(call: Promise<R>): Promise<Exclude<R['data'], undefined>>;
}

/**
 * The Gelombang API client: types generated from docs/api/openapi.json (openapi-typescript), requests
 * by openapi-fetch, and what every caller would otherwise repeat — an Idempotency-Key on every POST
 * (the same on each of its retries), retries of 429/503/network failures that honour Retry-After with
 * full jitter, the applicant's session, and errors in the applicant's language.
 */
export function createGelombangClient(options: ClientOptions = {}): GelombangClient {
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const send = options.fetch ?? ((req: Request) => globalThis.fetch(req));
  const session = new SessionHolder(options.session ?? 'bearer');
  const newKey = options.idempotencyKey ?? randomKey;
  const api = createClient<paths>({
    baseUrl: options.baseUrl ?? '',
    fetch: retryingFetch(send, retry),
    // The page's cookie only goes to its own origin; a bearer client sends none.
    credentials: session.mode === 'cookie' ? 'same-origin' : 'omit',
  });
  const client: GelombangClient = {
    api,
    session,
    lang: options.lang ?? 'id',
    ok: async (call) => {
      let result;
      try {
        result = await call;
      } catch (e) {
        if (e instanceof ApiError) throw e;
        throw ApiError.client('CLIENT_NETWORK_ERROR', client.lang);
      }
      if (result.response.ok) return result.data as never;
      throw toApiError(result.response, result.error, client.lang);
    },
  };
  const middleware: Middleware = {
    onRequest({ request }) {
      request.headers.set('accept-language', client.lang);
      if (request.method === 'POST' && !request.headers.has('idempotency-key')) request.headers.set('idempotency-key', newKey());
      if (session.token && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${session.token}`);
      return request;
    },
    async onResponse({ request, response }) {
      const path = new URL(request.url).pathname;
      if (endsSession(request.method, path) && response.ok) session.clear();
      if (session.mode === 'bearer' && response.ok && issuesSession(request.method, path)) {
        const body = (await response.clone().json()) as { registrationId?: string; session?: SessionView };
        if (body.registrationId && body.session) session.set(body.registrationId, body.session);
      }
      return response;
    },
  };
  api.use(middleware);
  return client;
}

/** Shapes of the API's bodies, by their schema names in the document. */
export type Schemas = components['schemas'];
