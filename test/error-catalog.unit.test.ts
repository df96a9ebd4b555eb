import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as platform from '@gelombang/platform';
import { FIELD_MESSAGES } from '@gelombang/contracts';
import { NIK_ISSUE_CODES } from '@gelombang/nik';
import * as email from '../services/email/src/errors';
import * as enrollment from '../services/enrollment/src/errors';
import * as intake from '../services/intake/src/errors';
import * as nikVerification from '../services/nik-verification/src/errors';
import * as registrySim from '../services/registry-sim/src/errors';
import * as edge from '../services/edge/src/errors';

/** The modules that define public error codes, by the path docs/errors.md names in each section heading. */
const SOURCES: Record<string, object> = {
  'packages/platform/src/errors.ts': platform,
  'services/intake/src/errors.ts': intake,
  'services/email/src/errors.ts': email,
  'services/nik-verification/src/errors.ts': nikVerification,
  'services/enrollment/src/errors.ts': enrollment,
  'services/registry-sim/src/errors.ts': registrySim,
  'services/edge/src/errors.ts': edge,
};

const isDefinition = (v: unknown): v is platform.ErrorDefinition =>
  typeof v === 'function' && typeof (v as { code?: unknown }).code === 'string' && typeof (v as { statusCode?: unknown }).statusCode === 'number';

const doc = readFileSync(join(__dirname, '..', 'docs', 'errors.md'), 'utf8');
const responseCodes = doc.split('## Response codes')[1]!.split('\n## ')[0]!;
const sections = new Map(
  [...responseCodes.matchAll(/^### .*\(`([^`]+)`\)\n([\s\S]*?)(?=^### |$(?![\s\S]))/gm)].map((m) => [
    m[1]!,
    new Map([...m[2]!.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((r) => [r[1]!, Number(r[2])])),
  ]),
);

describe('docs/errors.md — the public catalog of every service', () => {
  it('has one section per module that defines codes', () => {
    expect([...sections.keys()].sort()).toEqual(Object.keys(SOURCES).sort());
  });

  it.each(Object.entries(SOURCES))('lists exactly the codes %s defines, with their HTTP status', (file, mod) => {
    const defined = new Map(
      Object.values(mod)
        .filter(isDefinition)
        .map((d) => [d.code, d.statusCode]),
    );
    expect(defined.size).toBeGreaterThan(0);
    expect(Object.fromEntries(sections.get(file) ?? [])).toEqual(Object.fromEntries(defined));
  });

  it('gives every response code an Indonesian and an English message, and no code twice across services', () => {
    const all = Object.values(SOURCES).flatMap((m) => Object.values(m).filter(isDefinition));
    expect(new Set(all.map((d) => d.code)).size).toBe(new Set(all).size);
    for (const d of all) expect({ code: d.code, id: d.messages.id.length > 0, en: d.messages.en.length > 0 }).toEqual({ code: d.code, id: true, en: true });
  });

  it('documents every field code (inside a 400) and none that does not exist, each with both languages', () => {
    const fieldSection = doc.split('## Field codes')[1] ?? '';
    const documented = new Set([...fieldSection.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));
    const fieldCodes = new Set([...Object.keys(platform.GENERIC_FIELD_MESSAGES), ...Object.keys(FIELD_MESSAGES), ...NIK_ISSUE_CODES]);
    expect([...fieldCodes].filter((c) => !documented.has(c))).toEqual([]);
    expect([...documented].filter((c) => !fieldCodes.has(c!))).toEqual([]);
    for (const code of fieldCodes) {
      const m = FIELD_MESSAGES[code] ?? platform.GENERIC_FIELD_MESSAGES[code];
      expect({ code, id: typeof m?.id, en: typeof m?.en }).toEqual({ code, id: 'string', en: 'string' });
    }
  });

  it("names every code by the rule docs/errors.md gives: a service's own carry its prefix, the shared ones none", () => {
    const all = Object.entries(SOURCES).map(([file, mod]) => ({
      file,
      codes: Object.values(mod)
        .filter(isDefinition)
        .map((d) => d.code),
    }));
    const wrong: string[] = [];
    for (const { file, codes } of all) {
      const prefix = PREFIXES[file];
      for (const code of codes) {
        if (!/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(code)) wrong.push(`${code}: not UPPER_SNAKE_CASE`);
        if (prefix === undefined && SERVICE_PREFIXES.some((p) => code.startsWith(`${p}_`))) wrong.push(`${code}: a shared code with a service's prefix`);
        if (prefix !== undefined && !code.startsWith(`${prefix}_`)) wrong.push(`${code}: defined in ${file}, so it starts with ${prefix}_`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

/** Each service's prefix; the platform's shared codes have none. */
const PREFIXES: Record<string, string | undefined> = {
  'packages/platform/src/errors.ts': undefined,
  'services/intake/src/errors.ts': 'INTAKE',
  'services/email/src/errors.ts': 'EMAIL',
  'services/nik-verification/src/errors.ts': 'NIK',
  'services/enrollment/src/errors.ts': 'ENROLLMENT',
  'services/registry-sim/src/errors.ts': 'REGISTRY',
  'services/edge/src/errors.ts': 'EDGE',
};
const SERVICE_PREFIXES = Object.values(PREFIXES).filter((p): p is string => p !== undefined);
