import { createCipheriv, createDecipheriv, createHmac, randomFillSync } from 'node:crypto';
import type { PiiConfig } from './config';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** IVs are cut from one block of CSPRNG output: one getrandom call per 512 values instead of one each. */
const IV_POOL_BYTES = IV_BYTES * 512;

/**
 * Field-level encryption of personal data with AES-256-GCM. A sealed value is
 * `v1.<keyId>.<iv>.<ciphertext+tag>` (base64url), so the key id travels with the data and keys rotate
 * by adding a new active id while old ones still decrypt.
 */
export class PiiCipher {
  private readonly ivPool = Buffer.allocUnsafe(IV_POOL_BYTES);
  private ivOffset = IV_POOL_BYTES;

  /** The cipher of a service's `PII_*` settings (piiEnv). */
  static fromConfig(c: PiiConfig): PiiCipher {
    return new PiiCipher(c.PII_KEYS, c.PII_ACTIVE_KEY_ID, c.PII_INDEX_KEY);
  }

  constructor(
    private readonly keys: Readonly<Record<string, Buffer>>,
    readonly activeKeyId: string,
    private readonly indexKey: Buffer,
  ) {
    if (!keys[activeKeyId]) throw new Error(`PII key id "${activeKeyId}" is not configured`);
    for (const [kid, key] of Object.entries(keys)) {
      if (key.length !== 32) throw new Error(`PII key "${kid}" must be 32 bytes`);
      if (kid.includes('.')) throw new Error(`PII key id "${kid}" must not contain "."`);
    }
    if (indexKey.length < 32) throw new Error('PII index key must be at least 32 bytes');
  }

  /** `aad` binds a ciphertext to its context (e.g. the field name) so values cannot be swapped. */
  encrypt(plaintext: string, aad = ''): string {
    const iv = this.nextIv();
    const cipher = createCipheriv('aes-256-gcm', this.keys[this.activeKeyId]!, iv);
    if (aad) cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${this.activeKeyId}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  /** A fresh random 96-bit IV; each slice of the block is used once, used up before it is refilled. */
  private nextIv(): Buffer {
    if (this.ivOffset === IV_POOL_BYTES) {
      randomFillSync(this.ivPool);
      this.ivOffset = 0;
    }
    const iv = this.ivPool.subarray(this.ivOffset, this.ivOffset + IV_BYTES);
    this.ivOffset += IV_BYTES;
    return iv;
  }

  decrypt(sealed: string, aad = ''): string {
    const [version, kid, ivB64, bodyB64] = sealed.split('.');
    if (version !== VERSION || !kid || !ivB64 || !bodyB64) throw new Error('not a sealed PII value');
    const key = this.keys[kid];
    if (!key) throw new Error(`unknown PII key id "${kid}"`);
    const body = Buffer.from(bodyB64, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivB64, 'base64url'));
    if (aad) decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  }

  /**
   * True if this cipher holds the key and the value opens with this `aad`. Consumers use it to
   * dead-letter, at the door, events sealed with a key they do not hold: they could never process them.
   */
  canOpen(sealed: string, aad = ''): boolean {
    try {
      this.decrypt(sealed, aad);
      return true;
    } catch {
      return false;
    }
  }

  /** Key id of a sealed value, for re-encryption jobs. */
  static keyIdOf(sealed: string): string | undefined {
    return sealed.split('.')[1];
  }

  /**
   * HMAC-SHA256 blind index: equal normalised values give equal indexes, so uniqueness can be checked
   * without decrypting. The domain keeps a NIK and an email with the same text apart.
   */
  blindIndex(domain: string, normalisedValue: string): string {
    return createHmac('sha256', this.indexKey).update(`${domain}\u0000${normalisedValue}`).digest('base64url');
  }
}

/** Shows enough of an address for its owner to recognise it: `b***i@example.com`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  const local = email.slice(0, at);
  const shown = local.length <= 2 ? `${local[0]}***` : `${local[0]}***${local[local.length - 1]}`;
  return `${shown}${email.slice(at)}`;
}
