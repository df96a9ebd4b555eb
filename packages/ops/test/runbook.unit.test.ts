import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..', '..');
interface Rule {
  alert?: string;
  annotations?: { runbook?: string };
}
const alerts = (parse(readFileSync(join(ROOT, 'infra', 'prometheus', 'rules', 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups
  .flatMap((g) => g.rules)
  .filter((r) => r.alert);
const runbook = readFileSync(join(ROOT, 'docs', 'runbook.md'), 'utf8');
const sections = [...runbook.matchAll(/^## (\S+)$/gm)].map((m) => m[1]!);

describe('docs/runbook.md — a section for every alert', () => {
  it.each(alerts.map((a) => [a.alert!, a] as const))('%s links to its own section, which says what it means and what to do', (name, rule) => {
    expect(rule.annotations?.runbook).toBe(`docs/runbook.md#${name.toLowerCase()}`);
    expect(sections).toContain(name);
    const body = runbook.split(`## ${name}\n`)[1]!.split(/^## /m)[0]!;
    expect(body).toMatch(/\*\*Means\*\*/);
    expect(body).toMatch(/\*\*Do/);
  });

  it('has no section for an alert that does not exist', () => {
    expect(sections.filter((s) => !alerts.some((a) => a.alert === s))).toEqual([]);
  });
});
