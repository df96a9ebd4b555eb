import { randomUUID } from 'node:crypto';
import { generateSessionKeys, SessionVerifier, sessionVerifyEnv } from '@gelombang/platform';
import { bearer, sessionIssuerFromEnv } from '../src/cluster';

describe('sessions the load suite signs (enroll-rush: people who skipped the email step)', () => {
  const keys = generateSessionKeys();
  /** What a service verifies with: the public half, as its SESSION_VERIFY_KEYS. */
  const services = new SessionVerifier({ SESSION_VERIFY_KEYS: sessionVerifyEnv.SESSION_VERIFY_KEYS.parse(keys.SESSION_VERIFY_KEYS), SESSION_FRESH_SEC: 600 });

  it('signs with SESSION_SIGNING_KEY a fresh session of that registration, which the services verify with the public half', async () => {
    const issuer = sessionIssuerFromEnv({ SESSION_SIGNING_KEY: keys.SESSION_SIGNING_KEY })!;
    const id = randomUUID();
    const { authorization } = bearer(issuer.issue(id).token);
    const checked = await services.check(authorization!.replace(/^Bearer /, ''));
    expect(checked).toMatchObject({ ok: true, session: { registrationId: id } });
    expect(checked.ok && services.fresh(checked.session)).toBe(true);
    // SESSION_TTL_SEC's default (900 s): long enough for the eligibility wait and the rush.
    expect(checked.ok && checked.session.expiresAt - Date.now()).toBeGreaterThan(800_000);
  });

  it('is undefined without the key, and refuses a bad one without echoing it', () => {
    expect(sessionIssuerFromEnv({})).toBeUndefined();
    const secret = 'bm90LWEta2V5LWF0LWFsbA==';
    let error: unknown;
    try {
      sessionIssuerFromEnv({ SESSION_SIGNING_KEY: secret });
    } catch (e) {
      error = e;
    }
    expect(String(error)).toMatch(/SESSION_SIGNING_KEY .* Ed25519 private key/);
    expect(String(error)).not.toContain(secret);
    // The public half is no signing key.
    expect(() => sessionIssuerFromEnv({ SESSION_SIGNING_KEY: keys.SESSION_VERIFY_KEYS })).toThrow(/PKCS#8/);
  });
});
