import { randomBytes } from 'node:crypto';
import { PiiCipher, maskEmail } from '../src/pii';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const indexKey = randomBytes(32);

describe('PiiCipher', () => {
  it('encrypts to a sealed value that hides the plaintext and decrypts back', () => {
    const c = new PiiCipher({ k1 }, 'k1', indexKey);
    const sealed = c.encrypt('3204110609970001', 'nik');
    expect(sealed).toMatch(/^v1\.k1\./);
    expect(sealed).not.toContain('3204110609970001');
    expect(c.decrypt(sealed, 'nik')).toBe('3204110609970001');
  });

  it('uses a fresh IV: the same value never encrypts to the same text twice', () => {
    const c = new PiiCipher({ k1 }, 'k1', indexKey);
    expect(c.encrypt('budi@example.com')).not.toBe(c.encrypt('budi@example.com'));
  });

  it('never repeats an IV across many encryptions (past several refills of its random block), and every value still opens', () => {
    const c = new PiiCipher({ k1 }, 'k1', indexKey);
    const ivs = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const sealed = c.encrypt(`value-${i}`, 'email');
      ivs.add(sealed.split('.')[2]!);
      expect(c.decrypt(sealed, 'email')).toBe(`value-${i}`);
    }
    expect(ivs.size).toBe(2_000);
  });

  it('refuses a ciphertext moved to another field (AAD) or tampered with', () => {
    const c = new PiiCipher({ k1 }, 'k1', indexKey);
    const sealed = c.encrypt('0812', 'phone');
    expect(() => c.decrypt(sealed, 'nik')).toThrow();
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 1;
    expect(() => c.decrypt([...parts.slice(0, 3), body.toString('base64url')].join('.'), 'phone')).toThrow();
  });

  it('rotates keys: values sealed under an old key id still decrypt after a new key becomes active', () => {
    const old = new PiiCipher({ k1 }, 'k1', indexKey);
    const sealed = old.encrypt('Siti Aminah', 'fullName');
    const rotated = new PiiCipher({ k1, k2 }, 'k2', indexKey);
    expect(PiiCipher.keyIdOf(rotated.encrypt('x'))).toBe('k2');
    expect(rotated.decrypt(sealed, 'fullName')).toBe('Siti Aminah');
    expect(() => new PiiCipher({ k2 }, 'k2', indexKey).decrypt(sealed, 'fullName')).toThrow(/unknown PII key id/);
  });

  it('gives equal blind indexes for equal values, different ones per domain and per index key', () => {
    const c = new PiiCipher({ k1 }, 'k1', indexKey);
    expect(c.blindIndex('nik', '3204110609970001')).toBe(c.blindIndex('nik', '3204110609970001'));
    expect(c.blindIndex('nik', '3204110609970001')).not.toBe(c.blindIndex('email', '3204110609970001'));
    expect(new PiiCipher({ k1 }, 'k1', randomBytes(32)).blindIndex('nik', 'x')).not.toBe(c.blindIndex('nik', 'x'));
  });

  it('refuses bad keys at construction', () => {
    expect(() => new PiiCipher({ k1: randomBytes(16) }, 'k1', indexKey)).toThrow(/32 bytes/);
    expect(() => new PiiCipher({ k1 }, 'nope', indexKey)).toThrow(/not configured/);
  });
});

describe('maskEmail', () => {
  it('keeps the first and last letter of the local part and the domain', () => {
    expect(maskEmail('budi.santoso@example.co.id')).toBe('b***o@example.co.id');
    expect(maskEmail('ab@x.id')).toBe('a***@x.id');
  });
});

describe('PiiCipher.canOpen', () => {
  it('is true only with the key that sealed the value and the same field name', () => {
    const key = randomBytes(32);
    const mine = new PiiCipher({ k1: key }, 'k1', randomBytes(32));
    const sameIdOtherKey = new PiiCipher({ k1: randomBytes(32) }, 'k1', randomBytes(32));
    const otherId = new PiiCipher({ k9: key }, 'k9', randomBytes(32));
    const sealed = mine.encrypt('3204110609970001', 'nik');
    expect(mine.canOpen(sealed, 'nik')).toBe(true);
    expect(mine.canOpen(sealed, 'email')).toBe(false);
    expect(sameIdOtherKey.canOpen(sealed, 'nik')).toBe(false);
    expect(otherId.canOpen(sealed, 'nik')).toBe(false);
    expect(mine.canOpen('not sealed', 'nik')).toBe(false);
  });
});
