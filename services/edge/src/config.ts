import { z } from 'zod';
import { baseEnv, loadConfig } from '@gelombang/platform';

const upstream = (service: string, port: number) =>
  z
    .string()
    .default(`http://127.0.0.1:${port}`)
    .refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'http:' || u.protocol === 'https:') && (u.pathname === '/' || u.pathname === '') && !u.search;
      } catch {
        return false;
      }
    }, 'must be an origin, http(s)://host:port, without a path')
    .transform((v) => v.replace(/\/+$/, ''))
    .describe(`Where the ${service} answers (an origin, no path); the edge forwards its path prefixes there.`);

const origins = z
  .string()
  .default('http://localhost:5173,http://127.0.0.1:5173')
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      z.string().refine((v) => {
        try {
          const u = new URL(v);
          return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === v;
        } catch {
          return false;
        }
      }, 'each entry must be an origin exactly as a browser sends it: scheme://host[:port], no path, no trailing slash'),
    ),
  )
  .describe(
    'Browser origins allowed to call the API across origins (CORS, with credentials), comma separated, exactly as the Origin header reads; ' +
      'the page the edge serves itself is same-origin and needs none. Empty: no cross-origin caller at all.',
  );

export const edgeEnv = z.object({
  NODE_ENV: baseEnv.NODE_ENV,
  LOG_LEVEL: baseEnv.LOG_LEVEL,
  HTTP_HOST: baseEnv.HTTP_HOST,
  HTTP_PORT: baseEnv.HTTP_PORT.default(8080),
  HTTP_SHUTDOWN_DRAIN_MS: baseEnv.HTTP_SHUTDOWN_DRAIN_MS,
  HTTP_SHUTDOWN_TIMEOUT_MS: baseEnv.HTTP_SHUTDOWN_TIMEOUT_MS,
  EDGE_TRUST_PROXY: z
    .string()
    .default('false')
    .describe(
      "Whose X-Forwarded-For the edge believes (a load balancer in front of it): false (the socket's peer is the client), true, loopback, " +
        'or a comma list of addresses/CIDRs. The edge always replaces X-Forwarded-For with the one client address it decided on.',
    ),
  EDGE_INTAKE_URL: upstream('intake API', 3001),
  EDGE_EMAIL_URL: upstream('email verification service', 3002),
  EDGE_NIK_URL: upstream('NIK verification service', 3003),
  EDGE_ENROLLMENT_URL: upstream('enrollment service', 3004),
  EDGE_CORS_ORIGINS: origins,
  EDGE_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(16 * 1024)
    .describe('Largest request body the edge takes, in bytes (413 BODY_TOO_LARGE above it); at least the services’ HTTP_BODY_LIMIT_BYTES.'),
  EDGE_UPSTREAM_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(15_000)
    .describe("Milliseconds the edge waits for a service's answer before it answers 504 EDGE_UPSTREAM_TIMEOUT."),
  EDGE_UPSTREAM_CONNECTIONS: z.coerce.number().int().positive().default(128).describe('Most keep-alive connections the edge holds open to each service.'),
  EDGE_WEB_ROOT: z
    .string()
    .min(1)
    .default('web/dist')
    .describe('Directory of the reference registration page served at / (relative to the working directory); a placeholder page while it is absent.'),
  EDGE_OPENAPI_FILE: z
    .string()
    .min(1)
    .default('docs/api/openapi.json')
    .describe('The merged OpenAPI document served at /docs/openapi.json and shown at /docs (relative to the working directory), read at boot.'),
  EDGE_PUBLIC_MAX_AGE_SEC: z.coerce
    .number()
    .int()
    .min(0)
    .default(5)
    .describe('Cache-Control max-age, in seconds, of the public answers a frontend polls (the open batches); 0: revalidate every time.'),
});

export type EdgeConfig = z.infer<typeof edgeEnv>;

export const loadEdgeConfig = (env: NodeJS.ProcessEnv = process.env): EdgeConfig => loadConfig(edgeEnv, env);
