import type { z } from 'zod';
import type { FieldError, Lang, Messages } from './errors';

/** Messages for zod's own issue kinds; services add their domain codes (NIK_*, PHONE_* ...). */
export const GENERIC_FIELD_MESSAGES: Record<string, Messages> = {
  FIELD_REQUIRED: { id: 'Wajib diisi.', en: 'Required.' },
  FIELD_INVALID_TYPE: { id: 'Jenis data salah.', en: 'Wrong data type.' },
  FIELD_TOO_SHORT: { id: 'Terlalu pendek.', en: 'Too short.' },
  FIELD_TOO_LONG: { id: 'Terlalu panjang.', en: 'Too long.' },
  FIELD_FORMAT: { id: 'Format tidak valid.', en: 'Invalid format.' },
  FIELD_UNKNOWN: { id: 'Kolom tidak dikenal.', en: 'Unknown field.' },
  FIELD_INVALID: { id: 'Nilai tidak valid.', en: 'Invalid value.' },
};

type Issue = z.core.$ZodIssue;

function codeOf(issue: Issue): string {
  if (issue.code === 'custom' && typeof issue.params?.code === 'string') return issue.params.code;
  switch (issue.code) {
    case 'invalid_type':
      // zod 4 reports a missing key as invalid_type whose message mentions "undefined".
      return /received undefined/.test(issue.message) ? 'FIELD_REQUIRED' : 'FIELD_INVALID_TYPE';
    case 'too_small':
      return 'FIELD_TOO_SHORT';
    case 'too_big':
      return 'FIELD_TOO_LONG';
    case 'invalid_format':
      return 'FIELD_FORMAT';
    case 'unrecognized_keys':
      return 'FIELD_UNKNOWN';
    default:
      return 'FIELD_INVALID';
  }
}

/**
 * Turns zod issues into the public `errors` list: one entry per field and code, in the client's
 * language. Input values are never copied into messages (they may be personal data).
 */
export function toFieldErrors(issues: readonly Issue[], lang: Lang, catalog: Record<string, Messages>): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const issue of issues) {
    const fields = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k].join('.')) : [issue.path.join('.') || '(body)'];
    const code = codeOf(issue);
    const messages = catalog[code] ?? GENERIC_FIELD_MESSAGES[code] ?? GENERIC_FIELD_MESSAGES.FIELD_INVALID!;
    for (const field of fields) {
      const key = `${field}\u0000${code}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ field, code, message: messages[lang] });
    }
  }
  return out;
}
