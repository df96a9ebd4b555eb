import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { z } from 'zod';
import { cloudEvent, DEADLETTER_V1, deadLetterV1, eventCatalog, registrationStatus, registrationSubmittedV1Data } from '@gelombang/contracts';
import { breakingChanges } from './compatibility';
import { jsonSchemaOf, renderSchemas, SCHEMAS_DIR, SEALED_KEYWORD, type JsonSchema } from './event-docs';

const GOLDEN = join(__dirname, 'golden');
const committed = (topic: string): JsonSchema => JSON.parse(readFileSync(join(SCHEMAS_DIR, `${topic}.json`), 'utf8')) as JsonSchema;
const parsers = new Map<string, { parse(v: unknown): unknown }>([
  ...eventCatalog.map((e) => [e.contract.topic, e.contract.schema] as const),
  [DEADLETTER_V1, deadLetterV1],
]);

/** Every golden event: [topic, file, event]. Fixtures are frozen: add new ones, never edit old ones. */
const golden = readdirSync(GOLDEN, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(join(GOLDEN, d.name)).map((f) => [d.name, f, JSON.parse(readFileSync(join(GOLDEN, d.name, f), 'utf8')) as unknown] as const));

describe('golden events — every type and version, as written in the past', () => {
  it('cover every topic', () => {
    expect([...new Set(golden.map(([topic]) => topic))].sort()).toEqual([...parsers.keys()].sort());
  });

  it.each(golden.map(([topic, file, event]) => [`${topic}/${file}`, topic, event] as const))('%s still parses with today’s contract', (_name, topic, event) => {
    expect(parsers.get(topic)!.parse(event)).toEqual(event);
  });

  const ajv = addFormats(new Ajv2020({ strict: true, allErrors: true, keywords: [SEALED_KEYWORD] }));
  it.each(golden.map(([topic, file, event]) => [`${topic}/${file}`, topic, event] as const))(
    '%s is valid against the committed JSON Schema',
    (_name, topic, event) => {
      const validate = ajv.compile(committed(topic));
      expect(validate(event) ? [] : validate.errors).toEqual([]);
    },
  );

  it('a CloudEvent of the wrong type or with a field missing does not parse (the check can fail)', () => {
    const [, , event] = golden.find(([t]) => t === 'email.verified.v1')!;
    const { schema } = eventCatalog.find((e) => e.contract.topic === 'email.verified.v1')!.contract;
    expect(() => schema.parse({ ...(event as object), type: 'id.gelombang.email.verified.v2' })).toThrow();
    const { data } = event as { data: Record<string, unknown> };
    expect(() => schema.parse({ ...(event as object), data: { ...data, verifiedAt: undefined } })).toThrow();
  });
});

describe('v1 payloads change only compatibly (BACKWARD: today’s reader accepts every event written before)', () => {
  const rendered = renderSchemas();

  it.each([...rendered.keys()].map((f) => [f.replace(/\.json$/, '')]))('%s: the contract adds at most optional fields to the committed schema', (topic) => {
    expect(breakingChanges(committed(topic), rendered.get(`${topic}.json`)!)).toEqual([]);
  });
});

describe('the breaking-change check, on deliberately broken copies of a contract', () => {
  const topic = 'registration.submitted.v1';
  const type = 'id.gelombang.registration.submitted.v1';
  const base = committed(topic);
  const copy = (data: z.ZodType) => jsonSchemaOf(cloudEvent(type, data), type, 'a copy');
  const pii = registrationSubmittedV1Data.shape.pii;
  const broken: Array<[string, z.ZodType, string]> = [
    ['a new required field', registrationSubmittedV1Data.extend({ channel: z.string() }), '$.data.channel'],
    ['a field removed', registrationSubmittedV1Data.omit({ emailMasked: true }), '$.data.emailMasked'],
    ['an optional field made required', registrationSubmittedV1Data.extend({ idempotencyKeyHash: z.string() }), '$.data.idempotencyKeyHash'],
    ['a field retyped', registrationSubmittedV1Data.extend({ provinceCode: z.number().int() }), '$.data.provinceCode'],
    ['an enum narrowed', registrationSubmittedV1Data.extend({ conflict: z.enum(['NIK_HELD', 'NIK_BUSY']).optional() }), '$.data.conflict'],
    ['a pattern tightened', registrationSubmittedV1Data.extend({ provinceCode: z.string().regex(/^[1-9]\d$/) }), '$.data.provinceCode'],
    [
      'a minimum length raised',
      registrationSubmittedV1Data.extend({ blindIndex: z.object({ nik: z.string().min(64), email: z.string().min(16) }) }),
      '$.data.blindIndex.nik',
    ],
    ['a format added to a sealed field', registrationSubmittedV1Data.extend({ pii: pii.extend({ email: z.email() }) }), '$.data.pii.email'],
    ['unknown fields refused', registrationSubmittedV1Data.strict(), '$.data'],
  ];

  it.each(broken)('fails on %s', (_what, data, path) => {
    const changes = breakingChanges(base, copy(data));
    expect(changes.map((c) => c.path)).toContain(path);
  });

  it('passes an added optional field and a grown enum, and the unchanged contract', () => {
    const grown = registrationSubmittedV1Data.extend({
      channel: z.enum(['web', 'app']).optional(),
      conflict: z.enum(['NIK_HELD', 'NIK_BUSY', 'EMAIL_REGISTERED', 'PHONE_REGISTERED']).optional(),
    });
    expect(breakingChanges(base, copy(grown))).toEqual([]);
    expect(breakingChanges(base, copy(registrationSubmittedV1Data))).toEqual([]);
  });

  it('fails when a status some events carry is dropped from registration.status-changed.v1', () => {
    const t = 'id.gelombang.registration.status-changed.v1';
    const statusTopic = eventCatalog.find((e) => e.contract.type === t)!.contract;
    const narrowed = (statusTopic.data as unknown as z.ZodObject).extend({ status: registrationStatus.exclude(['expired']) });
    expect(breakingChanges(committed(statusTopic.topic), jsonSchemaOf(cloudEvent(t, narrowed), t, 'a copy'))).toEqual([
      { path: '$.data.status', what: 'enum value "expired" removed' },
    ]);
  });
});
