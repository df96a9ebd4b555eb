import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** Six digits from the CSPRNG, leading zeros kept: 000000–999999. */
export const newCode = (): string => String(randomInt(0, 1_000_000)).padStart(6, '0');

/**
 * What a notice mail's registration stores in place of a code's HMAC: 32 random bytes in the same
 * form, which no code hashes to (it is no HMAC of anything, and it is never mailed). A confirm for it
 * does exactly the work of a wrong code for an ordinary registration: one HMAC, one comparison.
 */
export const unusableCodeHmac = (): string => randomBytes(32).toString('base64url');

/** What a code proves; each purpose hashes with its own key, so a code of one is never taken for the other. */
export type CodePurpose = 'email-verification-code' | 'email-sign-in-code';

/**
 * Only the HMAC of a code is stored. The key is derived from PII_INDEX_KEY (so no new secret to
 * manage) with its own label per purpose, and the code's owner is mixed in (a registration id, or an
 * address's blind index for a sign-in code): a code's hash is useless for any other owner, and a
 * leaked table cannot be brute-forced (10^6 codes) without the key.
 */
export class CodeHasher {
  private readonly key: Buffer;

  constructor(indexKey: Buffer, purpose: CodePurpose = 'email-verification-code') {
    this.key = createHmac('sha256', indexKey).update(`gelombang:${purpose}:v1`).digest();
  }

  hash(owner: string, code: string): string {
    return createHmac('sha256', this.key).update(`${owner}\u0000${code}`).digest('base64url');
  }

  /** Constant time in the code: both sides are 32-byte MACs compared with timingSafeEqual. */
  matches(owner: string, code: string, storedHash: string): boolean {
    const actual = Buffer.from(this.hash(owner, code), 'base64url');
    const expected = Buffer.from(storedHash, 'base64url');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
