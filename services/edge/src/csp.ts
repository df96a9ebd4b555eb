import { createHash } from 'node:crypto';

export const DOCS_PREFIX = '/docs';

const common = "frame-ancestors 'none'; object-src 'none'";

/** JSON answers (the API, health, the OpenAPI document): nothing to load, nothing to frame. */
export const API_CSP = `default-src 'none'; base-uri 'none'; form-action 'none'; ${common}`;

/**
 * The reference page (web/dist): its own scripts, styles, images and the API on this origin only;
 * no inline script or style (a page that needs one must ship it as a file).
 */
export const PAGE_CSP = `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'self'; form-action 'self'; ${common}`;

/**
 * The API reference (Scalar, its bundle served from /docs/js/scalar.js): the one inline script that
 * starts it is allowed by its hash, never inline scripts in general; Scalar injects its stylesheet
 * at run time, hence inline styles; "try it" calls go to this origin only.
 */
export function docsCsp(scriptHashes: string[]): string {
  const scripts = ["'self'", ...scriptHashes.map((h) => `'${h}'`)].join(' ');
  return `default-src 'self'; script-src ${scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'self'; form-action 'self'; ${common}`;
}

/** `sha256-…` of each inline `<script>` of an HTML page (one without a src attribute). */
export function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map(
    (m) =>
      `sha256-${createHash('sha256')
        .update(m[1] ?? '')
        .digest('base64')}`,
  );
}

/** The policy of an answer, by its path (and, for the docs page, its HTML). */
export function cspFor(path: string, payload: unknown): string {
  if (path.startsWith('/v1/') || path.startsWith('/health/') || path === `${DOCS_PREFIX}/openapi.json`) return API_CSP;
  if (path === DOCS_PREFIX || path.startsWith(`${DOCS_PREFIX}/`)) return docsCsp(typeof payload === 'string' ? inlineScriptHashes(payload) : []);
  return PAGE_CSP;
}
