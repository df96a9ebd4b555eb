import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allExpressions, DASHBOARDS, dashboardFileText, metricNames } from '../src/dashboards';

const ROOT = join(__dirname, '..', '..', '..');
const DIR = join(ROOT, 'infra', 'grafana', 'dashboards');

/** Every TypeScript source that may register a metric (services' metrics.ts, the platform). */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (['node_modules', 'dist', 'test'].includes(e.name) ? [] : sources(join(dir, e.name))) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('infra/grafana dashboards', () => {
  it('are what dashboards.ts renders (pnpm --filter @gelombang/ops run dashboards rewrites them)', () => {
    expect(readdirSync(DIR).sort()).toEqual(DASHBOARDS.map((d) => `${d.uid}.json`).sort());
    for (const d of DASHBOARDS) expect(readFileSync(join(DIR, `${d.uid}.json`), 'utf8')).toBe(dashboardFileText(d));
  });

  it('name only metrics our code registers, prom-client’s defaults or our recording rules', () => {
    const code = [...sources(join(ROOT, 'packages')), ...sources(join(ROOT, 'services'))].map((f) => readFileSync(f, 'utf8')).join('\n');
    const rules = readdirSync(join(ROOT, 'infra', 'prometheus', 'rules'))
      .map((f) => readFileSync(join(ROOT, 'infra', 'prometheus', 'rules', f), 'utf8'))
      .join('\n');
    const recorded = new Set([...rules.matchAll(/- record: (\S+)/g)].map((m) => m[1]!));
    const defaults = new Set(['nodejs_eventloop_lag_p99_seconds', 'process_resident_memory_bytes']);
    const unknown = allExpressions()
      .flatMap((e) => metricNames(e.expr))
      .map((n) => n.replace(/_(bucket|count|sum)$/, ''))
      .filter((n) => !recorded.has(n) && !defaults.has(n) && !code.includes(`'${n}'`));
    expect([...new Set(unknown)]).toEqual([]);
  });

  it('reads metric names out of PromQL, not functions, labels or keywords', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{service="x",route=~"a|b"}[5m])))')).toEqual([
      'http_request_duration_seconds_bucket',
    ]);
    expect(metricNames('sum by (bucket) (rate(a_total{decision="admitted"}[1m])) / max by (bucket) (b) or c * 0')).toEqual(['a_total', 'b', 'c']);
    expect(metricNames('slo:intake_slow:ratio_rate5m > (14.4 * 0.01) and x unless on (instance) y offset 5m')).toEqual([
      'slo:intake_slow:ratio_rate5m',
      'x',
      'y',
    ]);
  });

  it('show on the surge dashboard arrivals, admission, the p99, lag per stage, partner quota use and the funnel', () => {
    const surge = DASHBOARDS.find((d) => d.uid === 'gelombang-surge')!;
    const names = new Set(surge.panels.flatMap((p) => p.exprs.flatMap((e) => metricNames(e.expr))));
    for (const n of [
      'http_request_duration_seconds_count',
      'token_bucket_decisions_total',
      'http_request_duration_seconds_bucket',
      'kafka_consumergroup_lag',
      'token_bucket_rate_per_second',
      'funnel_stage_total',
    ])
      expect(names).toContain(n);
  });
});
