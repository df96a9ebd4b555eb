import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/**
 * The merged OpenAPI document (`EDGE_OPENAPI_FILE`, `docs/api/openapi.json`: generated from the
 * services and checked for staleness in CI), read once at boot: a file that is not JSON stops the
 * edge there, like any other bad setting. Absent, there is nothing to serve (404) and /docs says so.
 */
export function loadOpenApi(file: string): { body: string; etag: string } | undefined {
  if (!existsSync(file)) return undefined;
  const body = readFileSync(file, 'utf8');
  try {
    JSON.parse(body);
  } catch {
    throw new Error(`Invalid configuration:\n  - EDGE_OPENAPI_FILE: ${file} is not JSON`);
  }
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** GET /docs/openapi.json, with an ETag (a reader's cache revalidates: `no-cache`). */
export function registerOpenApiRoute(app: FastifyInstance, doc: { body: string; etag: string }): void {
  app.get('/docs/openapi.json', async (req, reply) => {
    reply.header('etag', doc.etag).header('cache-control', 'public, no-cache');
    if (req.headers['if-none-match'] === doc.etag) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(doc.body);
  });
}
