/**
 * Applicant sessions: a short-lived EdDSA (Ed25519) JWT that the email service signs when an applicant
 * proves they hold the address (the verification code, or a sign-in code later), and that every other
 * service verifies locally from the public key — no call per request (decision 0017). The token
 * travels as `Authorization: Bearer …` or as the `HttpOnly; Secure; SameSite=Strict` cookie
 * `gelombang_session`, so a web page needs no token handling in JavaScript.
 *
 * Claims: `sub` the registrationId, `auth_time` when the applicant last proved the address (seconds;
 * a refresh keeps it, so "fresh" means "proved a code lately"), `iss`, `aud`, `iat`, `exp`, and `kid`
 * in the header (the key's thumbprint: verifiers may hold several keys while one is rotated out).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { z } from 'zod';

export const SESSION_COOKIE = 'gelombang_session';
export const SESSION_ISSUER = 'gelombang';
export const SESSION_AUDIENCE = 'gelombang-applicant';

/** The key's id in the token header: the first 16 characters of the base64url SHA-256 of its SPKI DER. */
export function keyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64url')
    .slice(0, 16);
}

const ed25519 = (k: KeyObject) => k.asymmetricKeyType === 'ed25519';

const publicKeys = z.string({ error: 'is required (base64 of an Ed25519 public key in SPKI DER[,key...])' }).transform((v, ctx) => {
  const keys = new Map<string, KeyObject>();
  for (const part of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    try {
      const key = createPublicKey({ key: Buffer.from(part, 'base64'), format: 'der', type: 'spki' });
      if (!ed25519(key)) throw new Error('not ed25519');
      keys.set(keyId(key), key);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'each entry must be base64 of an Ed25519 public key (SPKI DER)' });
      return z.NEVER;
    }
  }
  if (keys.size === 0) {
    ctx.addIssue({ code: 'custom', message: 'needs at least one key' });
    return z.NEVER;
  }
  return keys;
});

/** What every service that guards applicant routes reads. */
export const sessionVerifyEnv = {
  SESSION_VERIFY_KEYS: publicKeys.describe(
    'Public keys that sessions may be signed with, base64 of Ed25519 SPKI DER[,key...] (more than one while a key is rotated).',
  ),
  SESSION_FRESH_SEC: z.coerce
    .number()
    .int()
    .positive()
    .default(600)
    .describe('Seconds after proving an email code within which a session may withdraw a seat or correct a NIK.'),
} as const;

/** What the service that issues sessions (email) reads besides sessionVerifyEnv. */
export const sessionSignEnv = {
  SESSION_SIGNING_KEY: z
    .string({ error: 'is required (base64 of an Ed25519 private key in PKCS#8 DER)' })
    .transform((v, ctx) => {
      try {
        const key = createPrivateKey({ key: Buffer.from(v, 'base64'), format: 'der', type: 'pkcs8' });
        if (!ed25519(key)) throw new Error('not ed25519');
        return key;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be base64 of an Ed25519 private key (PKCS#8 DER)' });
        return z.NEVER;
      }
    })
    .describe('The key sessions are signed with, base64 of Ed25519 PKCS#8 DER; its public half must be in SESSION_VERIFY_KEYS.'),
  SESSION_TTL_SEC: z.coerce.number().int().min(60).max(3600).default(900).describe('Seconds a session token is valid; refresh before.'),
  SESSION_MAX_AGE_SEC: z.coerce
    .number()
    .int()
    .positive()
    .default(86_400)
    .describe('Seconds after proving an email code beyond which a session is no longer refreshed (sign in again).'),
} as const;

export type SessionVerifyConfig = z.infer<z.ZodObject<typeof sessionVerifyEnv>>;
export type SessionSignConfig = z.infer<z.ZodObject<typeof sessionSignEnv>>;

/** A fresh key pair in the form the settings take (local start, tests). */
export function generateSessionKeys(): { SESSION_SIGNING_KEY: string; SESSION_VERIFY_KEYS: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    SESSION_SIGNING_KEY: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
    SESSION_VERIFY_KEYS: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

export interface Session {
  registrationId: string;
  /** When the applicant last proved the address, ms since the epoch. */
  authTime: number;
  /** When the token stops being accepted, ms since the epoch. */
  expiresAt: number;
}

export interface IssuedSession extends Session {
  token: string;
}

/** Signs sessions (the email service only). */
export class SessionIssuer {
  private readonly sign: (payload: Record<string, unknown>) => string;

  constructor(private readonly config: SessionSignConfig) {
    const pub = createPublicKey(config.SESSION_SIGNING_KEY);
    this.sign = createSigner({
      key: config.SESSION_SIGNING_KEY.export({ type: 'pkcs8', format: 'pem' }).toString(),
      algorithm: 'EdDSA',
      kid: keyId(pub),
      iss: SESSION_ISSUER,
      aud: SESSION_AUDIENCE,
      expiresIn: config.SESSION_TTL_SEC * 1000,
    });
  }

  /** A session for `registrationId`; `authTime` (ms) defaults to now — pass the old one on a refresh. */
  issue(registrationId: string, authTime = Date.now()): IssuedSession {
    const token = this.sign({ sub: registrationId, auth_time: Math.floor(authTime / 1000) });
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
    return { token, registrationId, authTime: Math.floor(authTime / 1000) * 1000, expiresAt: exp.exp * 1000 };
  }

  /** Whether a session proved long enough ago must sign in again instead of refreshing. */
  refreshable(session: Session, now = Date.now()): boolean {
    return now - session.authTime <= this.config.SESSION_MAX_AGE_SEC * 1000;
  }
}

export type VerifyResult = { ok: true; session: Session } | { ok: false; reason: 'invalid' | 'expired' };

/** Checks sessions against the configured public keys; verified tokens are cached (by their hash). */
export class SessionVerifier {
  private readonly verify: (token: string) => Promise<Record<string, unknown>>;

  constructor(readonly config: SessionVerifyConfig) {
    const pems = new Map([...config.SESSION_VERIFY_KEYS].map(([kid, k]) => [kid, k.export({ type: 'spki', format: 'pem' }).toString()]));
    this.verify = createVerifier({
      key: async (decoded: { header: { kid?: string } }) => {
        const pem = decoded.header.kid ? pems.get(decoded.header.kid) : undefined;
        if (!pem) throw new Error('unknown key id');
        return pem;
      },
      algorithms: ['EdDSA'],
      allowedIss: SESSION_ISSUER,
      allowedAud: SESSION_AUDIENCE,
      requiredClaims: ['sub', 'exp', 'auth_time'],
      cache: 10_000,
    });
  }

  async check(token: string): Promise<VerifyResult> {
    try {
      const claims = await this.verify(token);
      const { sub, auth_time, exp } = claims;
      if (typeof sub !== 'string' || typeof auth_time !== 'number' || typeof exp !== 'number') return { ok: false, reason: 'invalid' };
      return { ok: true, session: { registrationId: sub, authTime: auth_time * 1000, expiresAt: exp * 1000 } };
    } catch (e) {
      if (e instanceof TokenError && e.code === TokenError.codes.expired) return { ok: false, reason: 'expired' };
      return { ok: false, reason: 'invalid' };
    }
  }

  fresh(session: Session, now = Date.now()): boolean {
    return now - session.authTime <= this.config.SESSION_FRESH_SEC * 1000;
  }
}
