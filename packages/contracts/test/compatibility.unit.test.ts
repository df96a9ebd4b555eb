import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { z } from 'zod';
import { cloudEvent, DEADLETTER_V1, deadLetterV1, eventCatalog, registrationStatus, registrationSubmittedV1Data } from '@gelombang/contracts';
import { breakingChanges, type BreakingChange } from './compatibility';
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

describe('v1 payloads change only compatibly (BACKWARD_TRANSITIVE: today’s reader accepts every event written before)', () => {
  const rendered = renderSchemas();
  const { accepted } = JSON.parse(readFileSync(join(__dirname, 'accepted-changes.json'), 'utf8')) as {
    accepted: Array<{ topic: string; path: string; what: string; why: string }>;
  };
  const unaccepted = (topic: string, changes: BreakingChange[]) =>
    changes.filter((c) => !accepted.some((a) => (a.topic === topic || a.topic === '*') && a.path === c.path && a.what === c.what && a.why.length > 20));

  it.each([...rendered.keys()].map((f) => [f.replace(/\.json$/, '')]))('%s: the contract adds at most optional fields to the committed schema', (topic) => {
    expect(unaccepted(topic, breakingChanges(committed(topic), rendered.get(`${topic}.json`)!))).toEqual([]);
  });

  // Regenerating the committed file cannot launder a breaking change: every version of it ever
  // committed (git history of docs/events/schemas/) is checked too, as Schema Registry's
  // BACKWARD_TRANSITIVE mode checks every registered version.
  it.each([...rendered.keys()].map((f) => [f.replace(/\.json$/, '')]))('%s: and to every version of it in the history', (topic) => {
    const versions = schemaHistory(`docs/events/schemas/${topic}.json`);
    const breaks = versions.flatMap(({ commit, schema }) =>
      unaccepted(topic, breakingChanges(schema, rendered.get(`${topic}.json`)!)).map((c) => ({ commit, ...c })),
    );
    expect(breaks).toEqual([]);
  });

  it('accepts only what accepted-changes.json lists, with a reason (a listed change elsewhere still fails)', () => {
    const narrowed = { ...committed('email.verified.v1') } as { properties: Record<string, JsonSchema> };
    const next = { ...narrowed, properties: { ...narrowed.properties, id: { type: 'string', format: 'uuid' }, source: { type: 'string', format: 'uri' } } };
    expect(unaccepted('email.verified.v1', breakingChanges(narrowed as JsonSchema, next))).toEqual([{ path: '$.source', what: 'format changed' }]);
  });

  it('reads the history (a clone with its commits): the first commit of the schemas is in it', () => {
    expect(schemaHistory('docs/events/schemas/registration.submitted.v1.json').length).toBeGreaterThanOrEqual(1);
  });
});

/** Every committed version of a file, oldest first (none outside a git checkout). */
function schemaHistory(path: string): Array<{ commit: string; schema: JsonSchema }> {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: join(__dirname, '..', '..', '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  let commits: string[];
  try {
    commits = git('log', '--format=%H', '--reverse', '--', path).split('\n').filter(Boolean);
  } catch {
    return [];
  }
  return commits.flatMap((commit) => {
    try {
      return [{ commit: commit.slice(0, 10), schema: JSON.parse(git('show', `${commit}:${path}`)) as JsonSchema }];
    } catch {
      return []; // deleted in that commit
    }
  });
}

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
