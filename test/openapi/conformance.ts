import { randomUUID } from 'node:crypto';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

type Json = Record<string, any>;

export const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** What a client saw: status, headers, raw body. */
export interface Answer {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** Checks answers against one OpenAPI document: the status must be documented, the body and headers must match it. */
export class DocumentChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(
    readonly name: string,
    readonly doc: Json,
  ) {
    addFormats(this.ajv);
    // The document's components under an id of their own, so that `#/components/...` inside them resolves.
    this.ajv.addSchema({ $id: `${name}.json`, components: doc.components ?? {} });
  }

  /** `$ref`s to this document's components, made absolute. */
  private absolute(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map((s) => this.absolute(s));
    if (!schema || typeof schema !== 'object') return schema;
    return Object.fromEntries(
      Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${this.name}.json${v}` : this.absolute(v)]),
    );
  }

  private validator(key: string, schema: Json): ValidateFunction {
    let v = this.compiled.get(key);
    if (!v) {
      v = this.ajv.compile(this.absolute(schema) as Json);
      this.compiled.set(key, v);
    }
    return v;
  }

  /** A `$ref` into this document, followed. */
  deref<T = Json>(node: any): T {
    let n = node;
    while (n && typeof n.$ref === 'string')
      n = n.$ref
        .slice(2)
        .split('/')
        .reduce((o: any, k: string) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], this.doc);
    return n as T;
  }

  operation(method: string, path: string): Json | undefined {
    return this.doc.paths?.[path]?.[method];
  }

  /** Everything wrong with `answer` as the answer to `method path`; empty when it conforms. */
  check(method: string, path: string, answer: Answer): string[] {
    const op = this.operation(method, path);
    if (!op) return [`${method.toUpperCase()} ${path} is not in the document`];
    const status = String(answer.statusCode);
    const response = this.deref(op.responses?.[status] ?? op.responses?.default);
    if (!response) return [`status ${status} is not documented (documented: ${Object.keys(op.responses ?? {}).join(', ')})`];
    const problems: string[] = [];
    const type = String(answer.headers['content-type'] ?? '');
    const media = response.content?.['application/json'];
    if (media) {
      if (!type.startsWith('application/json')) problems.push(`${status}: content-type ${type || '(none)'}, documented application/json`);
      let body: unknown;
      try {
        body = JSON.parse(answer.body);
      } catch {
        problems.push(`${status}: the body is not JSON: ${answer.body.slice(0, 80)}`);
      }
      if (body !== undefined && media.schema) {
        const validate = this.validator(`${method} ${path} ${status}`, media.schema);
        if (!validate(body)) {
          for (const e of validate.errors ?? []) problems.push(`${status}: body${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
        }
      }
    } else if (answer.body.length > 0) {
      problems.push(`${status}: documented without a body, answered ${answer.body.slice(0, 80)}`);
    }
    for (const [name, ref] of Object.entries((response.headers ?? {}) as Json)) {
      const header = this.deref(ref);
      const raw = answer.headers[name.toLowerCase()];
      // Promised on every such answer: where to wait, where to look.
      const promised = name === 'Retry-After' || (name === 'Location' && status.startsWith('2'));
      if (raw === undefined) {
        if (promised) problems.push(`${status}: header ${name} is documented but missing`);
        continue;
      }
      const value = header.schema?.type === 'integer' ? Number(raw) : raw;
      const validate = this.validator(`header ${name}`, header.schema ?? {});
      if (!validate(value)) problems.push(`${status}: header ${name}=${String(raw)} ${this.ajv.errorsText(validate.errors)}`);
    }
    return problems;
  }
}

/** The values a generated request may need: resources that exist, and credentials. */
export interface Fixtures {
  /** Path parameter or body field name → a value naming something that exists. */
  values: Record<string, string>;
  /** Bearer token of the applicant of `registrationId`. */
  session: (registrationId: string) => string;
  /** Per security scheme: a valid credential, as headers. */
  credentials: Record<string, () => Record<string, string>>;
  /** The service's body limit in bytes (not in a document: HTTP_BODY_LIMIT_BYTES). */
  bodyLimit: number;
}

/** One generated request. `expect`: valid ones must not be refused as invalid, invalid ones must be refused (4xx). */
export interface Case {
  label: string;
  expect: 'valid' | 'invalid' | 'any';
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

/** A value the schema accepts (its example where it has one: a pattern cannot be sampled otherwise). */
export function sample(checker: DocumentChecker, node: Json, name?: string): unknown {
  const schema = checker.deref(node);
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  for (const k of ['anyOf', 'oneOf'])
    if (Array.isArray(schema[k])) return sample(checker, schema[k].find((s: Json) => s.type !== 'null') ?? schema[k][0], name);
  switch (schema.type) {
    case 'object': {
      const out: Json = {};
      for (const [prop, s] of Object.entries((schema.properties ?? {}) as Json))
        if ((schema.required ?? []).includes(prop)) out[prop] = sample(checker, s, prop);
      return out;
    }
    case 'array':
      return schema.items ? [sample(checker, schema.items, name)] : [];
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.exclusiveMinimum === undefined ? 1 : schema.exclusiveMinimum + 1);
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string':
      if (schema.format === 'uuid') return randomUUID();
      if (schema.format === 'date-time') return new Date().toISOString();
      if (schema.format === 'date') return '1997-09-06';
      if (schema.format === 'email') return `conformance.${randomUUID().slice(0, 8)}@example.co.id`;
      if (schema.pattern) throw new Error(`${checker.name}: ${name ?? 'a string'} has a pattern and no example to sample`);
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
  }
  return {};
}

/** A value of another JSON type than the schema's. */
function wrongType(checker: DocumentChecker, node: Json): unknown {
  const s = checker.deref(node);
  const types = [s.type, ...((s.anyOf ?? []) as Json[]).map((a) => checker.deref(a).type)].filter(Boolean);
  return types.includes('string') ? 12345 : 'not-the-right-type';
}

/** Puts the fixtures' values into a sampled body (a registrationId that exists, a batch that is open). */
function withFixtures(body: unknown, f: Fixtures): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, f.values[k] ?? v]));
}

/**
 * The requests for one operation, Schemathesis-style: one the document calls valid (its examples, the
 * fixtures' resources, a credential), then the same with each part broken — every path parameter
 * malformed and unknown, each required field missing, each field of the wrong type, an unknown field
 * where none is allowed, a body that is no object, no JSON, not JSON, too large, each header off its
 * pattern, no credential, a wrong one, another applicant's.
 */
export function casesFor(checker: DocumentChecker, method: string, path: string, f: Fixtures): Case[] {
  const op = checker.operation(method, path)!;
  const params = ((op.parameters ?? []) as Json[]).map((p) => checker.deref(p));
  const pathParams = params.filter((p) => p.in === 'path');
  const headerParams = params.filter((p) => p.in === 'header' && p.name.toLowerCase() !== 'accept-language');
  const valuesFor = (over: Record<string, string> = {}) =>
    Object.fromEntries(pathParams.map((p) => [p.name, over[p.name] ?? f.values[p.name] ?? String(p.example ?? sample(checker, p.schema ?? {}, p.name))]));
  const url = (values: Record<string, string>) => path.replace(/\{([^}]+)\}/g, (_m, n: string) => encodeURIComponent(values[n]!));
  const bodySchema = op.requestBody?.content?.['application/json']?.schema as Json | undefined;
  const media = op.requestBody?.content?.['application/json'] as Json | undefined;
  const documented = bodySchema ? (media?.example ?? sample(checker, bodySchema)) : undefined;
  const validBody = withFixtures(documented, f);
  const schemes = ((op.security ?? []) as Json[]).flatMap((r) => Object.keys(r));
  const values = valuesFor();
  // The one the request acts on: its path's registration, or its body's.
  const owner = values.registrationId ?? values.id ?? (validBody as Json | undefined)?.registrationId;
  const credential = (): Record<string, string> => {
    const scheme = schemes[0];
    if (!scheme) return {};
    if (scheme.startsWith('applicant')) return { authorization: `Bearer ${f.session(owner ?? randomUUID())}` };
    return f.credentials[scheme]!();
  };
  const validHeaders = (): Record<string, string> => ({
    'accept-language': 'en',
    ...Object.fromEntries(
      headerParams.filter((h) => h.required || h.example !== undefined).map((h) => [h.name, String(h.example ?? sample(checker, h.schema ?? {}, h.name))]),
    ),
    ...credential(),
    ...(validBody !== undefined ? { 'content-type': 'application/json' } : {}),
  });
  const base = (label: string, expect: Case['expect'], over: Partial<Case> = {}): Case => ({
    label,
    expect,
    method: method.toUpperCase(),
    url: url(values),
    headers: validHeaders(),
    ...(validBody !== undefined ? { payload: JSON.stringify(validBody) } : {}),
    ...over,
  });
  const cases: Case[] = [base('valid', 'valid')];
  if (JSON.stringify(documented) !== JSON.stringify(validBody)) {
    // The document's own example as it stands (it names a batch or registration of its own).
    const own = (documented as Json).registrationId as string | undefined;
    const headers = { ...validHeaders(), ...(own && schemes[0]?.startsWith('applicant') ? { authorization: `Bearer ${f.session(own)}` } : {}) };
    cases.push(base("the document's example", 'valid', { payload: JSON.stringify(documented), headers }));
  }

  for (const p of pathParams) {
    cases.push(base(`path ${p.name} malformed`, 'invalid', { url: url(valuesFor({ [p.name]: 'Not An Id!' })) }));
    // Well-formed but naming nothing (for an applicant route: with that registration's own session).
    if (p.schema?.format === 'uuid') {
      const unknown = randomUUID();
      const other = url(valuesFor({ [p.name]: unknown }));
      cases.push(
        base(`path ${p.name} unknown`, 'any', {
          url: other,
          headers: { ...validHeaders(), ...(schemes[0]?.startsWith('applicant') ? { authorization: `Bearer ${f.session(unknown)}` } : {}) },
        }),
      );
    }
  }
  for (const h of headerParams) {
    if (h.schema?.pattern)
      cases.push(base(`header ${h.name} off its pattern`, 'invalid', { headers: { ...validHeaders(), [h.name]: 'has spaces, not allowed' } }));
  }
  if (bodySchema) {
    const s = checker.deref(bodySchema);
    const obj = validBody as Json;
    for (const prop of (s.required ?? []) as string[]) {
      const { [prop]: _gone, ...rest } = obj;
      cases.push(base(`body without ${prop}`, 'invalid', { payload: JSON.stringify(rest) }));
    }
    for (const [prop, ps] of Object.entries((s.properties ?? {}) as Json)) {
      cases.push(base(`body ${prop} of the wrong type`, 'invalid', { payload: JSON.stringify({ ...obj, [prop]: wrongType(checker, ps) }) }));
    }
    if (s.additionalProperties === false)
      cases.push(base('body with an unknown field', 'invalid', { payload: JSON.stringify({ ...obj, unexpectedField: 1 }) }));
    cases.push(base('body an array', 'invalid', { payload: '[]' }));
    cases.push(base('body null', 'invalid', { payload: 'null' }));
  }
  if (method !== 'get') {
    cases.push(base('body not JSON', 'invalid', { payload: '{"unterminated": ', headers: { ...validHeaders(), 'content-type': 'application/json' } }));
    cases.push(base('body as text/plain', 'invalid', { payload: 'plain text', headers: { ...validHeaders(), 'content-type': 'text/plain' } }));
    cases.push(
      base('body too large', 'invalid', {
        payload: JSON.stringify({ big: 'y'.repeat(f.bodyLimit + 1) }),
        headers: { ...validHeaders(), 'content-type': 'application/json' },
      }),
    );
  }
  if (schemes.length > 0) {
    const { authorization: _a, ...anonymous } = validHeaders();
    cases.push(base('no credential', 'invalid', { headers: anonymous }));
    cases.push(base('a credential that is not ours', 'invalid', { headers: { ...anonymous, authorization: 'Bearer not-a-token-we-issued' } }));
    if (schemes[0]!.startsWith('applicant') && owner) {
      cases.push(base("another applicant's session", 'invalid', { headers: { ...anonymous, authorization: `Bearer ${f.session(randomUUID())}` } }));
      cases.push(base('the session as the cookie', 'any', { headers: { ...anonymous, cookie: `gelombang_session=${f.session(owner)}` } }));
    }
  }
  return cases;
}
