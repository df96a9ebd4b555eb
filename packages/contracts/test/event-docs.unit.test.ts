import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromFile, Parser } from '@asyncapi/parser';
import { DEADLETTER_V1, eventCatalog } from '@gelombang/contracts';
import { ASYNCAPI_FILE, renderAsyncApi, renderSchemas, schemaFileText, sealedPaths, SCHEMAS_DIR, UPDATE_COMMAND } from './event-docs';

const UPDATE = process.env.UPDATE_EVENT_DOCS === '1';

const topicsFile = readFileSync(join(__dirname, '..', '..', '..', 'infra', 'kafka', 'topics.txt'), 'utf8');
const clusterTopics = topicsFile
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim().split(/\s+/)[0])
  .filter((t): t is string => Boolean(t));

/** The first line where two texts differ, for a message that says what to do. */
function stale(file: string, committed: string, rendered: string): string {
  const [a, b] = [committed.split('\n'), rendered.split('\n')];
  const at = a.findIndex((line, i) => line !== b[i]);
  const line = at === -1 ? a.length : at;
  return `${file} is stale: run \`${UPDATE_COMMAND}\` and commit it. First difference, line ${line + 1}:\n  file:      ${a[line] ?? '(end)'}\n  contracts: ${b[line] ?? '(end)'}`;
}

describe('docs/events — generated from the zod contracts', () => {
  const schemas = renderSchemas();
  if (UPDATE) {
    mkdirSync(SCHEMAS_DIR, { recursive: true });
    for (const f of readdirSync(SCHEMAS_DIR)) if (!schemas.has(f)) throw new Error(`remove ${f} by hand (a schema no contract renders)`);
    for (const [f, s] of schemas) writeFileSync(join(SCHEMAS_DIR, f), schemaFileText(s));
    writeFileSync(ASYNCAPI_FILE, renderAsyncApi(schemas));
  }

  it('has one JSON Schema per topic of the cluster, and no other', () => {
    expect([...schemas.keys()].sort()).toEqual(clusterTopics.map((t) => `${t}.json`).sort());
    expect(readdirSync(SCHEMAS_DIR).sort()).toEqual([...schemas.keys()].sort());
  });

  it.each([...schemas.keys()])('schemas/%s is what the contract renders today', (file) => {
    const committed = readFileSync(join(SCHEMAS_DIR, file), 'utf8');
    const rendered = schemaFileText(schemas.get(file)!);
    if (committed !== rendered) throw new Error(stale(`docs/events/schemas/${file}`, committed, rendered));
  });

  it('asyncapi.yaml is what the contracts render today', () => {
    const committed = readFileSync(ASYNCAPI_FILE, 'utf8');
    const rendered = renderAsyncApi(schemas);
    if (committed !== rendered) throw new Error(stale('docs/events/asyncapi.yaml', committed, rendered));
  });

  it('marks exactly the personal data as sealed', () => {
    const sealed = Object.fromEntries([...schemas].map(([f, s]) => [f, sealedPaths(s)] as const).filter(([, p]) => p.length > 0));
    expect(sealed).toEqual({
      'registration.submitted.v1.json': [
        'data.pii.nik',
        'data.pii.email',
        'data.pii.phone',
        'data.pii.fullName',
        'data.pii.birthDate',
        'data.pii.birthPlace',
        'data.pii.kkNumber',
      ],
      'nik.verification-requested.v1.json': ['data.pii.nik', 'data.pii.fullName', 'data.pii.birthDate'],
    });
  });
});

describe('docs/events/asyncapi.yaml — as @asyncapi/parser reads it', () => {
  let document: NonNullable<Awaited<ReturnType<ReturnType<typeof fromFile>['parse']>>['document']>;
  let diagnostics: Awaited<ReturnType<ReturnType<typeof fromFile>['parse']>>['diagnostics'];

  beforeAll(async () => {
    const parsed = await fromFile(new Parser(), ASYNCAPI_FILE).parse();
    diagnostics = parsed.diagnostics;
    if (!parsed.document) throw new Error(`not a valid AsyncAPI document:\n${JSON.stringify(diagnostics, null, 2)}`);
    document = parsed.document;
  });

  it('is valid AsyncAPI 3 with no errors or warnings', () => {
    // Spectral severities: 0 error, 1 warning, 2 information, 3 hint.
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document.version()).toBe('3.0.0');
  });

  it('has a channel per topic with its Kafka binding, each message keyed by the registration id, its payload resolved from schemas/', () => {
    const channels = document.channels().all();
    expect(channels.map((c) => c.address()).sort()).toEqual([...clusterTopics].sort());
    for (const c of channels) {
      expect(c.bindings().get('kafka')?.value()).toMatchObject({ topic: c.address(), partitions: expect.any(Number) });
      const [message] = c.messages().all();
      const payload = message!.payload()!.json() as { title?: string; properties?: Record<string, unknown> };
      expect(payload.properties).toBeDefined();
      if (c.address() === DEADLETTER_V1) continue;
      const entry = eventCatalog.find((e) => e.contract.topic === c.address())!;
      expect(payload.title).toBe(entry.contract.type);
      expect(message!.contentType()).toBe('application/cloudevents+json');
      expect(message!.bindings().get('kafka')?.value()).toMatchObject({ key: { type: 'string', format: 'uuid' } });
      expect(Object.keys(payload.properties!)).toEqual(['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'data']);
    }
  });

  it('says who sends each topic and which of our groups receive it', () => {
    const ops = document.operations().all();
    for (const e of eventCatalog) {
      const on = ops.filter((o) => o.channels().all()[0]?.address() === e.contract.topic);
      expect(on.filter((o) => o.action() === 'send')).toHaveLength(1);
      const groups = on
        .filter((o) => o.action() === 'receive')
        .map((o) => (o.bindings().get('kafka')?.value() as { groupId: { enum: string[] } }).groupId.enum[0]);
      expect(groups).toEqual(e.consumedBy);
    }
  });
});
