import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildServices, closeServices, type ServiceUnderTest } from './helpers/services';
import { MERGED_SERVICES, mergeDocuments, UPDATE_COMMAND } from './openapi/merge';

const DIR = join(__dirname, '..', 'docs', 'api');
const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

const render = (doc: unknown) => `${JSON.stringify(doc, null, 2)}\n`;

/** Writes `text` to `file` when asked to (UPDATE_OPENAPI=1), then fails if the committed file differs. */
function expectCommitted(file: string, text: string) {
  if (process.env.UPDATE_OPENAPI === '1') writeFileSync(file, text);
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    // missing: stale
  }
  if (committed === text) return;
  const [a, b] = [committed.split('\n'), text.split('\n')];
  const at = Math.max(
    0,
    a.findIndex((line, i) => line !== b[i]),
  );
  throw new Error(
    `${file} is stale: run \`${UPDATE_COMMAND}\` and commit it. First difference, line ${at + 1}:\n` +
      `  file:     ${a[at] ?? '(end of file)'}\n  services: ${b[at] ?? '(end of file)'}`,
  );
}

/*
 * The OpenAPI documents in docs/api are what the services serve at /docs/openapi.json today, built in
 * this process against the real PostgreSQL, Redis and Kafka: one per service (docs/api/services/) and
 * the merged one (docs/api/openapi.json), which the typed client is generated from. CI fails here when
 * a route's schema changed and the files were not regenerated (`pnpm run openapi:merge` writes them).
 */
describe('docs/api — the OpenAPI documents the services serve', () => {
  let services: ServiceUnderTest[] = [];
  const docs = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    services = await buildServices();
    for (const s of services) {
      // Straight from the swagger plugin: a document that cannot be built says why (the route answers 500).
      docs.set(s.name, s.app.swagger() as unknown as Record<string, unknown>);
      const res = await s.app.inject({ method: 'GET', url: '/docs/openapi.json' });
      expect({ service: s.name, status: res.statusCode }).toEqual({ service: s.name, status: 200 });
    }
  }, 120_000);

  afterAll(() => closeServices(services));

  it("each service's document is committed as it serves it", () => {
    for (const [name, doc] of docs) expectCommitted(join(DIR, 'services', `${name}.json`), render(doc));
  });

  it('the merged document is committed as the services make it', () => {
    const merged = mergeDocuments(
      MERGED_SERVICES.map((name) => ({ name, doc: docs.get(name)! })),
      VERSION,
    );
    expectCommitted(join(DIR, 'openapi.json'), render(merged));
  });

  it('every operation has an operationId, a summary, tags, security said explicitly, and says who may call it', () => {
    const missing: string[] = [];
    for (const [name, doc] of docs) {
      for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
        for (const [method, op] of Object.entries(item)) {
          for (const key of ['operationId', 'summary', 'tags', 'security']) if (op[key] === undefined) missing.push(`${name} ${method} ${path}: ${key}`);
          // Every route says who may call it (the guide's rule), in words as well as in `security`.
          if (!/Who may call: |Only the applicant of this registration/.test(String(op.description))) missing.push(`${name} ${method} ${path}: who may call`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
