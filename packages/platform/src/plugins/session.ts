import fastifyCookie from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { SESSION_EXPIRED, SESSION_FORBIDDEN, SESSION_NOT_FRESH, SESSION_REQUIRED } from '../errors';
import { SESSION_COOKIE, SessionVerifier, type IssuedSession, type Session, type SessionVerifyConfig } from '../session';

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionVerifier;
  }
  interface FastifyRequest {
    /** The applicant's verified session, on routes guarded by `applicantOnly`. */
    applicantSession: Session | undefined;
  }
}

export interface SessionPluginOptions {
  config: SessionVerifyConfig;
}

/** Cookie parsing and the session verifier (`app.sessions`) for the services that guard applicant routes. */
export const sessionPlugin = fp<SessionPluginOptions>(
  async (app, { config }) => {
    await app.register(fastifyCookie);
    app.decorate('sessions', new SessionVerifier(config));
    app.decorateRequest('applicantSession', undefined);
  },
  { name: 'gelombang-session', fastify: '5.x' },
);

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const challenge = { 'www-authenticate': 'Bearer realm="gelombang"' };

/** The token of a request: the Authorization header wins over the cookie. */
function tokenOf(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (typeof header === 'string') return BEARER.exec(header)?.[1];
  return req.cookies?.[SESSION_COOKIE] || undefined;
}

export interface ApplicantOnlyOptions {
  /** The registration the request acts on (a path parameter, or a body field: read in preHandler). */
  owner: (req: FastifyRequest) => string | undefined;
  /** The step needs a code proved within SESSION_FRESH_SEC (withdrawal, NIK correction). */
  fresh?: boolean;
}

/**
 * Route hooks for "only the applicant of this registration": `onRequest` checks the session before the
 * body is read (no session or a bad one → 401, learning nothing about validation); `preHandler` checks
 * that it is this registration's (another's → 403, before anything is looked up, so the answer says
 * nothing about the other registration) and, for `fresh` steps, that the code was proved lately.
 */
export function applicantOnly(app: { sessions: SessionVerifier }, opts: ApplicantOnlyOptions) {
  return {
    onRequest: async (req: FastifyRequest) => {
      const token = tokenOf(req);
      if (!token) throw SESSION_REQUIRED({ headers: challenge });
      const result = await app.sessions.check(token);
      if (!result.ok) throw (result.reason === 'expired' ? SESSION_EXPIRED : SESSION_REQUIRED)({ headers: challenge });
      req.applicantSession = result.session;
    },
    preHandler: async (req: FastifyRequest) => {
      const session = req.applicantSession!;
      if (opts.owner(req) !== session.registrationId) throw SESSION_FORBIDDEN();
      if (opts.fresh && !app.sessions.fresh(session)) throw SESSION_NOT_FRESH({ headers: challenge });
    },
  };
}

/** Sets the session cookie for a browser (the token is in the body too, for other clients). */
export function setSessionCookie(reply: FastifyReply, session: IssuedSession): void {
  reply.setCookie(SESSION_COOKIE, session.token, {
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    path: '/',
    maxAge: Math.max(0, Math.floor((session.expiresAt - Date.now()) / 1000)),
  });
}
