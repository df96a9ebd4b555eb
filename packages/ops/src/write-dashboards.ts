/* Writes infra/grafana/dashboards/<uid>.json from dashboards.ts (`pnpm --filter @gelombang/ops run dashboards`). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DASHBOARDS, dashboardFileText } from './dashboards';

const dir = resolve(__dirname, '..', '..', '..', 'infra', 'grafana', 'dashboards');
mkdirSync(dir, { recursive: true });
for (const d of DASHBOARDS) writeFileSync(join(dir, `${d.uid}.json`), dashboardFileText(d));
process.stdout.write(`wrote ${DASHBOARDS.length} dashboards to ${dir}\n`);
