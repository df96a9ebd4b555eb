import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { definedErrors, GENERIC_FIELD_MESSAGES } from '@gelombang/platform';
import { FIELD_MESSAGES } from '@gelombang/contracts';
import { NIK_ISSUE_CODES } from '@gelombang/nik';
import '../src/errors';

const doc = readFileSync(join(__dirname, '../../../docs/errors.md'), 'utf8');
const documented = new Set([...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));

describe('docs/errors.md', () => {
  it('documents every response code the services can answer, and no code that does not exist', () => {
    const responseCodes = definedErrors().map((e) => e.code);
    const fieldCodes = [...Object.keys(GENERIC_FIELD_MESSAGES), ...Object.keys(FIELD_MESSAGES), ...NIK_ISSUE_CODES];
    const all = new Set([...responseCodes, ...fieldCodes]);
    expect([...all].filter((c) => !documented.has(c))).toEqual([]);
    expect([...documented].filter((c) => !all.has(c!))).toEqual([]);
  });

  it('has an Indonesian and an English message for every field code', () => {
    for (const code of [...NIK_ISSUE_CODES, ...Object.keys(FIELD_MESSAGES)]) {
      const m = FIELD_MESSAGES[code] ?? GENERIC_FIELD_MESSAGES[code];
      expect({ code, id: typeof m?.id, en: typeof m?.en }).toEqual({ code, id: 'string', en: 'string' });
    }
  });
});
