import { EDGE_SERVER } from '@gelombang/contracts';

type Json = Record<string, unknown>;

/** The services in the merged document, in its order (the registry stand-in has its own, not deployed). */
export const MERGED_SERVICES = ['intake', 'email', 'nik-verification', 'enrollment'] as const;

export const UPDATE_COMMAND = 'npx -y pnpm@10.34.9 run openapi:merge';

/**
 * docs/api/openapi.json: the services' documents as one, for the edge's one origin. Paths and
 * operationIds must not collide; a component or tag two services share must be the same in both
 * (the contracts make them so), else this throws.
 */
export function mergeDocuments(docs: { name: string; doc: Json }[], version: string): Json {
  const paths: Record<string, Json> = {};
  const components: Record<string, Record<string, unknown>> = {};
  const tags = new Map<string, Json>();
  const operationIds = new Map<string, string>();
  for (const { name, doc } of docs) {
    for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
      paths[path] ??= {};
      for (const [method, op] of Object.entries(item)) {
        if (paths[path][method]) throw new Error(`${method.toUpperCase()} ${path} is in two documents (${name} and another)`);
        const id = (op as Json).operationId as string;
        if (operationIds.has(id)) throw new Error(`operationId ${id} is in ${operationIds.get(id)} and ${name}`);
        operationIds.set(id, name);
        paths[path][method] = op;
      }
    }
    for (const [kind, map] of Object.entries((doc.components ?? {}) as Record<string, Json>)) {
      components[kind] ??= {};
      for (const [key, value] of Object.entries(map)) {
        const seen = components[kind][key];
        if (seen !== undefined && JSON.stringify(seen) !== JSON.stringify(value))
          throw new Error(`components.${kind}.${key} differs between ${name} and another service`);
        components[kind][key] = value;
      }
    }
    for (const tag of (doc.tags ?? []) as Json[]) tags.set(tag.name as string, tag);
  }
  const sorted = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gelombang API',
      version,
      description:
        'Registration for the Kartu Prakerja surge, through one origin: registering (intake), proving the email address and applicant ' +
        'sessions (email), the NIK check (nik-verification) and training batches (enrollment). Every refusal is the coded, bilingual ' +
        '`Problem` body (docs/errors.md); `message` follows Accept-Language (Indonesian by default). Every answer carries `x-request-id`. ' +
        'Generated from the services’ own documents (`/docs/openapi.json` on each) by `pnpm run openapi:merge`; do not edit by hand.',
      license: (docs[0]?.doc.info as Json | undefined)?.license,
    },
    servers: [EDGE_SERVER],
    tags: [...tags.values()],
    paths: sorted(paths),
    components: Object.fromEntries(Object.entries(components).map(([k, v]) => [k, sorted(v)])),
  };
}
