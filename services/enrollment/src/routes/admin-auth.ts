import { createHash, timingSafeEqual } from 'node:crypto';
import { ENROLLMENT_ADMIN_FORBIDDEN, ENROLLMENT_ADMIN_UNAUTHENTICATED } from '../errors';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * An onRequest hook for operators' routes: runs before the body is read, so an anonymous caller
 * learns nothing about validation. Digests are compared in constant time (equal lengths by design).
 */
export function requireAdmin(token: string) {
  const expected = digest(token);
  return async (req: { headers: Record<string, string | string[] | undefined> }) => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
    if (!match) throw ENROLLMENT_ADMIN_UNAUTHENTICATED({ headers: { 'www-authenticate': 'Bearer' } });
    if (!timingSafeEqual(digest(match[1]!), expected)) throw ENROLLMENT_ADMIN_FORBIDDEN();
  };
}
