/**
 * The client's types are generated, never written: src/schema.ts must be what openapi-typescript makes
 * of the merged document now. Regenerate with `pnpm --filter @gelombang/client run generate`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const pkg = join(__dirname, '..');

describe('packages/client/src/schema.ts', () => {
  it('is what openapi-typescript generates from docs/api/openapi.json (run `pnpm --filter @gelombang/client run generate` when it is not)', () => {
    const cli = join(pkg, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
    const fresh = execFileSync(process.execPath, [cli, join(pkg, '..', '..', 'docs', 'api', 'openapi.json')], { cwd: pkg, encoding: 'utf8' });
    const committed = readFileSync(join(pkg, 'src', 'schema.ts'), 'utf8');
    expect(committed === fresh).toBe(true);
  });
});
