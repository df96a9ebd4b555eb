import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

/** Six digits from the CSPRNG, leading zeros kept: 000000–999999. */
export const newCode = (): string => String(randomInt(0, 1_000_000)).padStart(6, '0');

/**
 * Only the HMAC of a code is stored. The key is derived from PII_INDEX_KEY (so no new secret to
 * manage) with its own label, and the registration id is mixed in: a code's hash is useless for any
 * other registration, and a leaked table cannot be brute-forced (10^6 codes) without the key.
 */
export class CodeHasher {
  private readonly key: Buffer;

  constructor(indexKey: Buffer) {
    this.key = createHmac('sha256', indexKey).update('gelombang:email-verification-code:v1').digest();
  }

  hash(registrationId: string, code: string): string {
    return createHmac('sha256', this.key).update(`${registrationId}\u0000${code}`).digest('base64url');
  }

  /** Constant time in the code: both sides are 32-byte MACs compared with timingSafeEqual. */
  matches(registrationId: string, code: string, storedHash: string): boolean {
    const actual = Buffer.from(this.hash(registrationId, code), 'base64url');
    const expected = Buffer.from(storedHash, 'base64url');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
