import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { SERVICE_SECTIONS, SHARED_SECTIONS, UPDATE_COMMAND, renderEnvExample } from './env-example';

const FILE = join(__dirname, '..', '.env.example');

/**
 * The committed file's sections by title: each key with the value a dotenv parser reads from its line,
 * undefined for a commented-out `# KEY=` (present, but left unset).
 */
function committedSections(): Map<string, Map<string, string | undefined>> {
  const parts = readFileSync(FILE, 'utf8').split(/^# (.+?) \((?:packages|services)\/.*$/m);
  const sections = new Map<string, Map<string, string | undefined>>();
  for (let i = 1; i < parts.length; i += 2) {
    const keys = [...parts[i + 1]!.matchAll(/^(# )?([A-Z][A-Z0-9_]*)=.*$/gm)].map((m): [string, string | undefined] => [
      m[2]!,
      m[1] ? undefined : parseEnv(m[0])[m[2]!],
    ]);
    sections.set(parts[i]!, new Map(keys));
  }
  return sections;
}

describe('.env.example — rendered from the services’ config schemas', () => {
  it('is what the schemas render today', () => {
    const rendered = renderEnvExample();
    if (process.env.UPDATE_ENV_EXAMPLE === '1') writeFileSync(FILE, rendered);
    const committed = readFileSync(FILE, 'utf8');
    if (committed === rendered) return;
    const [file, schemas] = [committed.split('\n'), rendered.split('\n')];
    const at = file.findIndex((line, i) => line !== schemas[i]);
    const line = at === -1 ? file.length : at;
    throw new Error(
      `.env.example is stale: run \`${UPDATE_COMMAND}\` and commit the file. First difference, line ${line + 1}:\n` +
        `  file:    ${file[line] ?? '(end of file)'}\n  schemas: ${schemas[line] ?? '(end of file)'}`,
    );
  });

  it.each(SERVICE_SECTIONS.map((s) => [s.title, s] as const))('gives every key %s reads its default, in its own section or a shared one', (title, service) => {
    const sections = committedSections();
    const where = [sections.get(title), ...SHARED_SECTIONS.map((s) => sections.get(s.title))];
    const wrong = Object.entries(service.keys).flatMap(([key, field]) => {
      const section = where.find((s) => s?.has(key));
      const dflt = field.toJSONSchema({ io: 'input', unrepresentable: 'any' }).default;
      const expected = dflt !== undefined ? String(dflt) : field.safeParse(undefined).success ? undefined : '';
      const file = section ? section.get(key) : '(not in the file)';
      return section && file === expected ? [] : [{ key, file, schema: expected }];
    });
    expect(wrong).toEqual([]);
  });

  it('names no key that no schema declares', () => {
    const declared = new Set([...SHARED_SECTIONS, ...SERVICE_SECTIONS].flatMap((s) => Object.keys(s.keys)));
    const named = [...committedSections().values()].flatMap((s) => [...s.keys()]);
    expect(named.filter((k) => !declared.has(k))).toEqual([]);
  });
});
