import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { EDGE_UPSTREAM_UNAVAILABLE } from './errors';

type Json = Record<string, unknown>;

/**
 * The merged OpenAPI document of every service behind the edge. The committed one
 * (`EDGE_OPENAPI_FILE`, `docs/api/openapi.json`, generated and checked for staleness elsewhere) when
 * it exists; until then — a stop-gap — the services' own `/docs/openapi.json`, fetched and merged
 * when asked (paths side by side, component names kept, first one wins on a clash).
 */
export function openApiSource(file: string, services: Array<{ name: string; origin: string }>): () => Promise<{ body: string; etag: string } | undefined> {
  let fromFile: { body: string; etag: string } | undefined;
  return async () => {
    if (fromFile) return fromFile;
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      JSON.parse(text); // a broken file is a deployment error: the request fails, loudly, in the log
      fromFile = withEtag(text);
      return fromFile;
    }
    const docs = await Promise.all(
      services.map(async (s) => {
        const res = await request(`${s.origin}/docs/openapi.json`, { headersTimeout: 3_000, bodyTimeout: 3_000 }).catch(() => undefined);
        if (!res) return undefined;
        if (res.statusCode !== 200) {
          await res.body.dump();
          return undefined;
        }
        return (await res.body.json()) as Json;
      }),
    );
    if (docs.some((d) => d === undefined)) return undefined;
    return withEtag(JSON.stringify(mergeDocuments(docs as Json[])));
  };
}

function withEtag(body: string): { body: string; etag: string } {
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** Paths, tags and components of several OpenAPI 3.1 documents in one; servers: this origin. */
export function mergeDocuments(docs: Json[]): Json {
  const paths: Json = {};
  const components: Record<string, Json> = {};
  const tags = new Map<string, Json>();
  for (const doc of docs) {
    Object.assign(paths, doc.paths ?? {});
    for (const [kind, entries] of Object.entries((doc.components ?? {}) as Record<string, Json>)) {
      components[kind] = { ...entries, ...(components[kind] ?? {}) };
    }
    for (const tag of (doc.tags ?? []) as Json[]) if (!tags.has(String(tag.name))) tags.set(String(tag.name), tag);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gelombang API',
      version: '0.1.0',
      description: 'Every public route of the Gelombang services, through one origin (merged by the edge from the services’ own documents).',
    },
    servers: [{ url: '/', description: 'this origin' }],
    ...(tags.size ? { tags: [...tags.values()] } : {}),
    paths,
    ...(Object.keys(components).length ? { components } : {}),
  };
}

/** GET /docs/openapi.json, with an ETag; 503 (coded) while a service's document cannot be had. */
export function registerOpenApiRoute(app: FastifyInstance, source: () => Promise<{ body: string; etag: string } | undefined>): void {
  app.get('/docs/openapi.json', async (req, reply) => {
    const doc = await source();
    if (!doc) throw EDGE_UPSTREAM_UNAVAILABLE({ headers: { 'retry-after': '2' } });
    reply.header('etag', doc.etag).header('cache-control', 'public, no-cache');
    if (req.headers['if-none-match'] === doc.etag) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(doc.body);
  });
}
