// Builds the reference page into web/dist (served by the edge at /): the page's TypeScript checked by
// tsc, bundled with @gelombang/client and openapi-fetch by esbuild into one small script, plus the
// static HTML and CSS. Run by the root build (`pnpm run build`, so `./gelombang start`).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');

execFileSync(process.execPath, [join(here, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
// Content-hashed names: the edge lets browsers keep assets an hour, the page itself never.
const result = await build({
  entryPoints: { app: join(here, 'src', 'main.ts'), style: join(here, 'src', 'app.css') },
  outdir: dist,
  entryNames: '[name]-[hash]',
  metafile: true,
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'iife',
  // Phones in the field run old browsers: ES2020 (Chrome 80, Safari 14). esbuild refuses to lower
  // destructuring for the browser-version list form, so the language level is the target.
  target: 'es2020',
  platform: 'browser',
  // The client's CommonJS output and openapi-fetch's ESM are both resolved from the workspace.
  mainFields: ['browser', 'module', 'main'],
  logLevel: 'warning',
});
const built = Object.entries(result.metafile.outputs)
  .filter(([, o]) => o.entryPoint)
  .map(([file, o]) => [o.entryPoint.endsWith('.css') ? '/app.css' : '/app.js', `/${basename(file)}`]);
for (const f of readdirSync(join(here, 'public'))) {
  if (!f.endsWith('.html')) {
    copyFileSync(join(here, 'public', f), join(dist, f));
    continue;
  }
  let html = readFileSync(join(here, 'public', f), 'utf8');
  for (const [plain, hashed] of built) html = html.replace(`"${plain}"`, `"${hashed}"`);
  writeFileSync(join(dist, f), html);
}

const sizes = readdirSync(dist)
  .filter((f) => !f.endsWith('.map'))
  .map((f) => `${f} ${(statSync(join(dist, f)).size / 1024).toFixed(1)} KiB (${(gzipSync(readFileSync(join(dist, f))).length / 1024).toFixed(1)} gzip)`);
console.log(`web/dist: ${sizes.join(', ')}`);
