import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
export type { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Get-or-create, so plugins registered twice in tests do not throw on duplicate names. */
export function counter(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter<string> {
  return (registry.getSingleMetric(name) as Counter<string>) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

export function histogram(registry: Registry, name: string, help: string, buckets: number[], labelNames: string[] = []): Histogram<string> {
  return (registry.getSingleMetric(name) as Histogram<string>) ?? new Histogram({ name, help, buckets, labelNames, registers: [registry] });
}

export interface GaugeSample {
  labels?: Record<string, string>;
  value: number;
}

/**
 * A gauge read when Prometheus scrapes (queue depth, seats left, breaker state): `read` runs inside
 * prom-client's collect(). A failing read leaves the gauge empty for that scrape rather than stale.
 */
export function scrapedGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => Promise<GaugeSample[]> | GaugeSample[],
  labelNames: string[] = [],
): Gauge<string> {
  const existing = registry.getSingleMetric(name) as Gauge<string> | undefined;
  if (existing) return existing;
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      this.reset();
      let samples: GaugeSample[];
      try {
        samples = await read();
      } catch {
        return;
      }
      for (const s of samples) {
        if (s.labels && Object.keys(s.labels).length) this.set(s.labels, s.value);
        else this.set(s.value);
      }
    },
  });
}
