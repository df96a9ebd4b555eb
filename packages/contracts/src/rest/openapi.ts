import { toJSONSchema, z } from 'zod';
import { errorBody } from './registrations';

/*
 * What every service's OpenAPI document says beyond its routes' own schemas (decision 0019): where it is
 * reached, who may call what, the headers that travel with answers, and the refusals the platform
 * answers on every route. `finishDocument` runs once per service, on the document @fastify/swagger
 * built from the zod schemas; `mergeDocuments` makes docs/api/openapi.json of the five.
 */

/** Schema keywords that carry facts to `finishDocument` and are taken out of the document. */
const X_CODES = 'x-gelombang-codes';
const X_HEADERS = 'x-gelombang-headers';

/** A coded refusal as the platform's `defineError` declares it (only the parts a document needs). */
export interface CodedError {
  code: string;
  statusCode: number;
}

/** The refusals an applicant route answers (the platform's `applicantOnly`; codes in packages/platform/src/errors.ts). */
const SESSION_REQUIRED: CodedError = { code: 'SESSION_REQUIRED', statusCode: 401 };
const SESSION_EXPIRED: CodedError = { code: 'SESSION_EXPIRED', statusCode: 401 };
const SESSION_NOT_FRESH: CodedError = { code: 'SESSION_NOT_FRESH', statusCode: 401 };
const SESSION_FORBIDDEN: CodedError = { code: 'SESSION_FORBIDDEN', statusCode: 403 };

/** The applicant session of decision 0017, either way it travels. */
export const APPLICANT_SECURITY: Record<string, string[]>[] = [{ applicantBearer: [] }, { applicantCookie: [] }];
/** Operators' routes: `Authorization: Bearer <ADMIN_TOKEN>`. */
export const ADMIN_SECURITY: Record<string, string[]>[] = [{ adminBearer: [] }];
/** The population registry stand-in's partner token. */
export const REGISTRY_SECURITY: Record<string, string[]>[] = [{ registryBearer: [] }];
/** Anyone may call it (said explicitly, so a route that forgot its guard does not read as guarded). */
export const PUBLIC: Record<string, string[]>[] = [];

/** The operations' tags: one per resource. */
export const TAGS: Record<string, string> = {
  registrations: 'Registering (intake): submit, read the status, correct a NIK the registry rejected.',
  'email-verifications': 'Proving the email address with the mailed code (email service).',
  sessions: 'Applicant sessions (decision 0017): signing in again, refreshing, signing out (email service).',
  'nik-verifications': 'The NIK check against the population registry (NIK verification service).',
  batches: 'Training batches (gelombang) and their seats (enrollment service); operators create them.',
  enrollments: 'Taking and giving back a seat in a batch (enrollment service).',
  'population-registry': "The population registry stand-in (Dukcapil's API as the NIK service sees it; development and load tests only).",
  simulator: "The stand-in's controls for tests and load runs (the real registry has none).",
};

/**
 * A route's refusals as its `schema.response` entries, one per status: the shared problem body (or
 * `schema`, where a refusal carries more, e.g. `attemptsLeft`), with the codes it may carry noted for
 * the document. The entries are also what Fastify serialises those answers with.
 */
export function problems(errors: CodedError[], o: { schema?: z.ZodObject; headers?: (keyof typeof HEADERS)[] } = {}): Record<number, z.ZodObject> {
  const byStatus = new Map<number, string[]>();
  for (const e of errors) byStatus.set(e.statusCode, [...(byStatus.get(e.statusCode) ?? []), e.code]);
  const schema = o.schema ?? errorBody;
  return Object.fromEntries(
    [...byStatus].map(([status, codes]) => [status, schema.meta({ [X_CODES]: codes, ...(o.headers ? { [X_HEADERS]: o.headers } : {}) })]),
  );
}

/** A success body whose answer also carries these headers (names of `HEADERS` below). */
export function withHeaders<T extends z.ZodType>(schema: T, headers: (keyof typeof HEADERS)[]): T {
  return schema.meta({ [X_HEADERS]: headers }) as T;
}

/** An answer without a body (204), with the headers it carries. */
export function noContent(description: string, headers: (keyof typeof HEADERS)[] = []): z.ZodUndefined {
  return z.undefined().meta({ description, [X_HEADERS]: headers });
}

/**
 * What a route only the applicant of its registration may call (the platform's `applicantOnly`) says in
 * its OpenAPI: who may call it (description), how (security) and its refusals (to pass to `problems`).
 * `fresh`: the step also needs an email code proved lately (withdrawal, NIK correction).
 */
export function applicantOnlyDoc(fresh = false): { description: string; security: Record<string, string[]>[]; errors: CodedError[] } {
  return {
    description:
      'Only the applicant of this registration may call it: send the session the email service issued on confirming the code, as ' +
      '`Authorization: Bearer <token>` or the `gelombang_session` cookie. Without a valid one 401 SESSION_REQUIRED (SESSION_EXPIRED once it ' +
      'has expired), checked before the body is read; with another registration’s 403 SESSION_FORBIDDEN, before anything is looked up.' +
      (fresh ? ' The code must have been proved within SESSION_FRESH_SEC (10 minutes by default), otherwise 401 SESSION_NOT_FRESH: sign in again.' : ''),
    security: APPLICANT_SECURITY,
    errors: [SESSION_REQUIRED, SESSION_EXPIRED, ...(fresh ? [SESSION_NOT_FRESH] : []), SESSION_FORBIDDEN],
  };
}

/** A session route that checks the token but acts on no other registration (refresh). */
export const sessionOnlyErrors: CodedError[] = [SESSION_REQUIRED, SESSION_EXPIRED];

/** Where each service is reached when it runs on this machine (`./gelombang start`). */
export const SERVICE_PORTS: Record<string, number> = { intake: 3001, email: 3002, 'nik-verification': 3003, enrollment: 3004, 'registry-sim': 3090 };
/** The one origin in front of every service but the registry stand-in (issue #15, decision 0018). */
export const EDGE_PORT = 8080;

/** A server whose origin is a variable: its default is where `./gelombang start` runs it; a deployment names its own. */
export function originServer(defaultHost: string, description: string) {
  return {
    url: '{scheme}://{host}',
    description,
    variables: {
      scheme: { default: 'http', enum: ['http', 'https'], description: 'https wherever it is not a developer machine' },
      host: { default: defaultHost, description: 'host[:port] where it is reached' },
    },
  };
}

export const EDGE_SERVER = originServer(`localhost:${EDGE_PORT}`, 'the edge: one origin for every service (the default: ./gelombang start)');

export function serversFor(service: string) {
  const own = originServer(`localhost:${SERVICE_PORTS[service] ?? 3000}`, `${service} directly, without the edge (the default: ./gelombang start)`);
  return service === 'registry-sim' ? [own] : [EDGE_SERVER, own];
}

type Json = Record<string, unknown>;

const integer = { type: 'integer', minimum: 0 };
/** Response headers every document may reference (components.headers). */
export const HEADERS = {
  'Retry-After': { description: 'Seconds to wait before trying again (RFC 9110 §10.2.3); a client retries no sooner.', schema: { ...integer, minimum: 1 } },
  Location: { description: 'Where the created or accepted resource is read (a path on the same origin).', schema: { type: 'string', format: 'uri-reference' } },
  'X-RateLimit-Limit': { description: "The client's burst: requests it may send at once.", schema: integer },
  'X-RateLimit-Remaining': { description: 'Requests left in the burst now.', schema: integer },
  'X-RateLimit-Reset': { description: 'Seconds until the burst is full again (refused: until the next request is admitted).', schema: integer },
  'WWW-Authenticate': { description: 'The challenge of a refused credential: `Bearer` (RFC 6750).', schema: { type: 'string' } },
  'Idempotent-Replayed': {
    description: '`true` when this is the stored answer to an earlier request with the same Idempotency-Key.',
    schema: { type: 'string', enum: ['true'] },
  },
  'Set-Cookie': {
    description: 'The applicant session as the `gelombang_session` cookie (HttpOnly; Secure; SameSite=Strict; Path=/); Max-Age=0 clears it.',
    schema: { type: 'string' },
  },
} satisfies Record<string, { description: string; schema: Json }>;
export const RATE_LIMIT_HEADERS: (keyof typeof HEADERS)[] = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];

export const SECURITY_SCHEMES = {
  applicantBearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'The applicant session (decision 0017): an EdDSA JWT the email service issues on confirming the code (`session.token`) or on signing in, ' +
      'valid 15 minutes, refreshed with POST /v1/sessions/refresh. Apps send it as `Authorization: Bearer <token>`.',
  },
  applicantCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: 'gelombang_session',
    description: 'The same applicant session as the HttpOnly cookie the email service sets (SameSite=Strict): what a browser page sends.',
  },
  adminBearer: { type: 'http', scheme: 'bearer', description: "Operators' routes: `Authorization: Bearer <ADMIN_TOKEN>`." },
  registryBearer: { type: 'http', scheme: 'bearer', description: "The partner's token of the population registry (REGISTRY_API_TOKEN)." },
};

export const ACCEPT_LANGUAGE = {
  name: 'Accept-Language',
  in: 'header',
  required: false,
  description: 'Every coded answer’s `message` is in Indonesian (`id`, the default) or English (`en`).',
  schema: { type: 'string', default: 'id' },
  example: 'en',
};

/** What a document's `finishDocument` needs to know from its service. */
export interface FinishOptions {
  /** Code → status and messages (the platform's `definedErrors()`). */
  errors: Map<string, { statusCode: number; messages: { id: string; en: string } }>;
  /** Field code → message, for the example of a 400 VALIDATION_FAILED. */
  fieldMessage: (code: string) => string;
  /** The 503 codes every route may answer while a datastore is out of reach (the platform's error handler). */
  outageCodes: string[];
}

const DESCRIPTIONS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted: stored durably; the work goes on asynchronously',
  '204': 'No content',
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** The problem body's component: the zod schema as JSON Schema, as @fastify/swagger renders it. */
function problemComponent(): Json {
  const { $schema: _s, ...schema } = toJSONSchema(errorBody, { io: 'output' }) as Json;
  return schema;
}

function addCodes(responses: Json, status: number, codes: string[]) {
  const existing = responses[status] as Json | undefined;
  const schema = ((existing?.content as Json | undefined)?.['application/json'] as Json | undefined)?.schema as Json | undefined;
  if (existing && !schema?.[X_CODES]) throw new Error(`response ${status} is not a coded refusal (use problems())`);
  if (!existing) responses[status] = { content: { 'application/json': { schema: { ...problemComponent(), [X_CODES]: [] } } } };
  const target = ((responses[status] as Json).content as Json)['application/json'] as Json;
  const listed = (target.schema as Json)[X_CODES] as string[];
  target.schema = { ...(target.schema as Json), [X_CODES]: [...listed, ...codes.filter((c) => !listed.includes(c))] };
}

/**
 * Finishes a service's document (@fastify/swagger's `transformObject`): every operation gets the
 * platform's refusals, descriptions and examples built from its codes, its headers, its security
 * (public where a route names none), Accept-Language; named schemas (a zod schema's `title`) move to
 * `components.schemas`.
 */
export function finishDocument(doc: Json, opts: FinishOptions): Json {
  const usedTags = new Set<string>();
  const components: Json = { schemas: {}, headers: {}, parameters: { AcceptLanguage: ACCEPT_LANGUAGE }, securitySchemes: {} };
  const schemas = components.schemas as Record<string, Json>;
  const usedHeaders = new Set<string>();
  const usedSchemes = new Set<string>();
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const responses = (op.responses ?? {}) as Json;
      // The refusals the platform answers on routes like this one, whatever the route does.
      const platform: [number, string][] = [];
      const hasBody = Boolean(op.requestBody);
      const params = ((op.parameters ?? []) as Json[]).filter((p) => p.in === 'path');
      if (method !== 'get' && method !== 'head') platform.push([400, 'MALFORMED_JSON'], [413, 'BODY_TOO_LARGE'], [415, 'UNSUPPORTED_MEDIA_TYPE']);
      if (hasBody || params.length > 0) platform.push([400, 'VALIDATION_FAILED']);
      if (params.length > 0) platform.push([400, 'MALFORMED_URL'], [404, 'ROUTE_NOT_FOUND']);
      for (const code of opts.outageCodes) platform.push([503, code]);
      const byStatus = new Map<number, string[]>();
      for (const [s, c] of platform) byStatus.set(s, [...(byStatus.get(s) ?? []), c]);
      for (const [s, codes] of byStatus) addCodes(responses, s, codes);

      for (const [status, response] of Object.entries(responses) as [string, Json][]) {
        const media = (response.content as Json | undefined)?.['application/json'] as Json | undefined;
        const schema = media?.schema as Json | undefined;
        const headers = new Set<string>((schema?.[X_HEADERS] as string[] | undefined) ?? []);
        const codes = schema?.[X_CODES] as string[] | undefined;
        if (status === '429' || status === '503') headers.add('Retry-After');
        if (status === '401') headers.add('WWW-Authenticate');
        if (codes) {
          for (const c of codes) {
            const known = opts.errors.get(c);
            if (!known) throw new Error(`${method.toUpperCase()} ${path}: error code ${c} is not defined`);
            if (String(known.statusCode) !== status) throw new Error(`${method.toUpperCase()} ${path}: ${c} is ${known.statusCode}, documented as ${status}`);
          }
          if (codes.includes('INTAKE_IDEMPOTENCY_KEY_IN_PROGRESS')) headers.add('Retry-After');
          response.description = codes.map((c) => `\`${c}\`: ${opts.errors.get(c)!.messages.en}`).join('\n\n');
          media!.examples = Object.fromEntries(codes.map((c) => [c, { summary: c, value: exampleBody(c, op, opts) }]));
          delete media!.example;
        } else if (!response.description || response.description === 'Default Response') {
          response.description = DESCRIPTIONS[status] ?? status;
        }
        if (headers.size > 0) {
          response.headers = Object.fromEntries([...headers].sort().map((h) => [h, { $ref: `#/components/headers/${h}` }]));
          for (const h of headers) usedHeaders.add(h);
        }
        if (schema) media!.schema = hoist(stripFacts(schema), schemas);
      }
      op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));

      const body = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.['application/json'] as Json | undefined;
      if (body?.schema) body.schema = hoist(body.schema as Json, schemas);
      const own = ((op.parameters ?? []) as Json[]).filter((p) => !(p.in === 'header' && String(p.name).toLowerCase() === 'accept-language'));
      op.parameters = [...own, { $ref: '#/components/parameters/AcceptLanguage' }];
      op.security ??= [];
      for (const t of (op.tags ?? []) as string[]) usedTags.add(t);
      for (const requirement of op.security as Json[]) for (const name of Object.keys(requirement)) usedSchemes.add(name);
    }
  }
  const schemes = SECURITY_SCHEMES as Record<string, unknown>;
  components.securitySchemes = Object.fromEntries([...usedSchemes].sort().map((n) => [n, schemes[n]]));
  const known = HEADERS as Record<string, unknown>;
  components.headers = Object.fromEntries([...usedHeaders].sort().map((h) => [h, known[h]]));
  components.schemas = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
  const tags = [...usedTags].sort().map((name) => ({ name, description: TAGS[name] ?? name }));
  return { ...doc, tags, components };
}

/** A copy without the facts meant for this function. */
function stripFacts(schema: Json): Json {
  const { [X_CODES]: _codes, [X_HEADERS]: _headers, ...rest } = schema;
  return rest;
}

const NESTED = ['properties', 'patternProperties', '$defs'];
const NESTED_ONE = ['items', 'additionalProperties', 'not', 'contains'];
const NESTED_LIST = ['anyOf', 'allOf', 'oneOf', 'prefixItems'];

/** Named schemas (a `title`) anywhere in `schema` become `$ref`s to components.schemas; two different ones with one name are a mistake. */
function hoist(schema: Json, into: Record<string, Json>): Json {
  const out: Json = { ...schema };
  for (const k of NESTED) {
    if (out[k] && typeof out[k] === 'object') out[k] = Object.fromEntries(Object.entries(out[k] as Json).map(([n, s]) => [n, hoist(s as Json, into)]));
  }
  for (const k of NESTED_ONE) if (out[k] && typeof out[k] === 'object') out[k] = hoist(out[k] as Json, into);
  for (const k of NESTED_LIST) if (Array.isArray(out[k])) out[k] = (out[k] as Json[]).map((s) => hoist(s, into));
  const name = out.title;
  if (typeof name !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(name)) return out;
  // A description says what the schema is where it is used (a property, an answer): it stays there.
  // Examples are where @fastify/swagger put them (the answer's media, or `example` nested): the component keeps one.
  const { description, example, examples, ...component } = out;
  const seen = into[name];
  const { example: seenExample, ...seenBare } = seen ?? {};
  if (seen && JSON.stringify(seenBare) !== JSON.stringify(component)) throw new Error(`two different schemas are named ${name}`);
  const kept = seenExample ?? example ?? (Array.isArray(examples) ? examples[0] : undefined);
  into[name] = kept === undefined ? component : { ...component, example: kept };
  return { $ref: `#/components/schemas/${name}`, ...(description === undefined ? {} : { description }) };
}

/** The answer a client sees for `code` (Indonesian, the default), as an example. */
function exampleBody(code: string, op: Json, opts: FinishOptions): Json {
  const e = opts.errors.get(code)!;
  const body: Json = { code, message: e.messages.id };
  if (code === 'VALIDATION_FAILED') {
    const props = Object.keys(
      ((((op.requestBody as Json | undefined)?.content as Json | undefined)?.['application/json'] as Json | undefined)?.schema as Json | undefined)
        ?.properties ?? {},
    );
    const param = ((op.parameters ?? []) as Json[]).find((p) => p.in === 'path')?.name as string | undefined;
    const field = props[0] ?? param ?? 'body';
    const fieldCode = props[0] ? 'FIELD_REQUIRED' : 'FIELD_FORMAT';
    body.errors = [{ field, code: fieldCode, message: opts.fieldMessage(fieldCode) }];
  }
  return body;
}
