import { CodeHasher } from '../src/domain/codes';
import { signInMail } from '../src/domain/mail-content';
import { decideSignInCode, decideSignInMail, type SignInRules, type SignInState } from '../src/domain/sign-in';

const rules: SignInRules = { codeTtlSec: 900, maxSends: 5, cooldownSec: 60, maxAttempts: 10, windowSec: 86_400 };
const now = new Date('2026-12-03T10:00:00Z');
const at = (sec: number) => new Date(now.getTime() + sec * 1000);
const registrationId = '0196f2d4-0000-7000-8000-000000000001';
const state = (over: Partial<SignInState> = {}): SignInState => ({
  registrationId: null,
  codeHmac: null,
  expiresAt: null,
  sentAt: null,
  sendsWindowStartedAt: null,
  windowSends: 0,
  attemptsWindowStartedAt: null,
  windowFailedAttempts: 0,
  ...over,
});
const withCode = (over: Partial<SignInState> = {}) => state({ registrationId, codeHmac: 'h', expiresAt: at(600), sentAt: at(-300), ...over });

describe('sign-in mails', () => {
  it('go only to a verified registration, within the window limit and the cooldown', () => {
    expect(decideSignInMail(state(), null, rules, now)).toEqual({ kind: 'drop', reason: 'not_verified' });
    expect(decideSignInMail(state(), registrationId, rules, now)).toEqual({ kind: 'send', sends: { startedAt: now, count: 1 } });
    expect(decideSignInMail(withCode({ sentAt: at(-10) }), registrationId, rules, now)).toEqual({ kind: 'drop', reason: 'cooldown' });
    const spent = withCode({ sendsWindowStartedAt: at(-3600), windowSends: 5 });
    expect(decideSignInMail(spent, registrationId, rules, now)).toEqual({ kind: 'drop', reason: 'limit' });
    expect(decideSignInMail({ ...spent, sendsWindowStartedAt: at(-86_400) }, registrationId, rules, now)).toEqual({
      kind: 'send',
      sends: { startedAt: now, count: 1 },
    });
  });

  it('carry the code in the body only, Indonesian before English', () => {
    const m = signInMail('004217', 900);
    expect(m.subject).toBe('Kode masuk Kartu Prakerja');
    expect(m.text.match(/004217/g)).toHaveLength(2);
    expect(m.text.indexOf('berlaku 15 menit')).toBeLessThan(m.text.indexOf('valid for 15 minutes'));
  });

  it('hash with their own key: a verification code hash never matches as a sign-in code', () => {
    const key = Buffer.alloc(32, 7);
    const verification = new CodeHasher(key);
    const signIn = new CodeHasher(key, 'email-sign-in-code');
    expect(signIn.matches('idx', '012345', signIn.hash('idx', '012345'))).toBe(true);
    expect(signIn.matches('idx', '012345', verification.hash('idx', '012345'))).toBe(false);
  });
});

describe('sign-in codes', () => {
  const is = (h: string) => (hmac: string | null) => hmac === h;

  it('sign in with the live code; wrong, expired, none out and an unknown address are one answer, each counted', () => {
    expect(decideSignInCode(withCode(), rules, now, is('h'))).toEqual({ kind: 'sign_in', registrationId });
    const invalid = { kind: 'invalid', failures: { startedAt: now, count: 1 }, exhaustsNow: false, retryAfterSec: 86_400 };
    expect(decideSignInCode(withCode(), rules, now, is('x'))).toEqual(invalid);
    expect(decideSignInCode(withCode({ expiresAt: now }), rules, now, is('h'))).toEqual(invalid);
    // An unknown address (no registration, no code): compared against the dummy (null), refused the same way.
    expect(decideSignInCode(state(), rules, now, () => true)).toEqual(invalid);
    // A code whose registration no longer holds the address (the repository gives registrationId null).
    expect(decideSignInCode(withCode({ registrationId: null }), rules, now, is('h'))).toEqual(invalid);
  });

  it('compare exactly once whatever the state, so the time taken does not tell the cases apart', () => {
    for (const s of [withCode(), withCode({ expiresAt: now }), state()]) {
      const seen: Array<string | null> = [];
      decideSignInCode(s, rules, now, (h) => (seen.push(h), false));
      expect(seen).toHaveLength(1);
    }
  });

  it('count wrong codes per address across codes: the last allowed one and every try after it are exhausted until the window ends', () => {
    const tried = (count: number, startedAt = at(-3600)) => withCode({ attemptsWindowStartedAt: startedAt, windowFailedAttempts: count });
    expect(decideSignInCode(tried(9), rules, now, is('x'))).toEqual({
      kind: 'invalid',
      failures: { startedAt: at(-3600), count: 10 },
      exhaustsNow: true,
      retryAfterSec: 82_800,
    });
    expect(decideSignInCode(tried(10), rules, now, is('h'))).toEqual({ kind: 'exhausted', retryAfterSec: 82_800 });
    expect(decideSignInCode(tried(10, at(-86_400)), rules, now, is('h'))).toEqual({ kind: 'sign_in', registrationId });
  });
});
