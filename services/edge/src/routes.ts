import type { EdgeConfig } from './config';

/** The setting that names the service a prefix goes to. */
export type UpstreamKey = 'EDGE_INTAKE_URL' | 'EDGE_EMAIL_URL' | 'EDGE_NIK_URL' | 'EDGE_ENROLLMENT_URL';

/**
 * How a frontend may keep an answer (`Cache-Control`, and an ETag the edge computes from the body):
 * - `personal`: the applicant's own (status, email step, NIK check, seat): `private, no-cache` — a
 *   browser may keep it but asks every time (the service checks the session again, then 304 if unchanged);
 * - `public`: the same for everyone (open batches): `public, max-age=EDGE_PUBLIC_MAX_AGE_SEC`;
 * - anything else (every POST and DELETE, the admin routes, errors): `no-store`.
 */
export type CacheClass = 'personal' | 'public';

export interface EdgeRoute {
  /** Path prefix at the edge and at the service alike (the path is forwarded unchanged). */
  prefix: string;
  upstream: UpstreamKey;
  /** GET answers (200) of this prefix, by their path below it: `''` the prefix itself, `'/:id'` one segment. */
  get?: Partial<Record<'' | '/:id', CacheClass>>;
}

/**
 * The route map: every public path of every service, by prefix. The registry stand-in is not
 * here (it is not deployed to production, and the NIK service calls it directly), nor are the
 * services' /health, /metrics and /docs (the edge has its own).
 */
export const EDGE_ROUTES: readonly EdgeRoute[] = [
  { prefix: '/v1/registrations', upstream: 'EDGE_INTAKE_URL', get: { '/:id': 'personal' } },
  { prefix: '/v1/email-verifications', upstream: 'EDGE_EMAIL_URL', get: { '/:id': 'personal' } },
  { prefix: '/v1/sessions', upstream: 'EDGE_EMAIL_URL' },
  { prefix: '/v1/nik-verifications', upstream: 'EDGE_NIK_URL', get: { '/:id': 'personal' } },
  { prefix: '/v1/batches', upstream: 'EDGE_ENROLLMENT_URL', get: { '': 'public', '/:id': 'public' } },
  { prefix: '/v1/admin/batches', upstream: 'EDGE_ENROLLMENT_URL' },
  { prefix: '/v1/enrollments', upstream: 'EDGE_ENROLLMENT_URL', get: { '/:id': 'personal' } },
];

/** The distinct services behind the edge, by setting, with their origins. */
export function upstreams(config: EdgeConfig): Array<{ key: UpstreamKey; name: string; origin: string }> {
  const names: Record<UpstreamKey, string> = {
    EDGE_INTAKE_URL: 'intake',
    EDGE_EMAIL_URL: 'email',
    EDGE_NIK_URL: 'nik-verification',
    EDGE_ENROLLMENT_URL: 'enrollment',
  };
  return (Object.keys(names) as UpstreamKey[]).map((key) => ({ key, name: names[key], origin: config[key] }));
}

/** The cache class of a GET answered under `route`, from the path below its prefix (no query). */
export function cacheClassOf(route: EdgeRoute, path: string): CacheClass | undefined {
  const rest = path.slice(route.prefix.length);
  if (rest === '' || rest === '/') return route.get?.[''];
  if (/^\/[^/]+$/.test(rest)) return route.get?.['/:id'];
  return undefined;
}
