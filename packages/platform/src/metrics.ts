import { Counter, Histogram, type Registry } from 'prom-client';

/** Get-or-create, so plugins registered twice in tests do not throw on duplicate names. */
export function counter(registry: Registry, name: string, help: string, labelNames: string[] = []): Counter<string> {
  return (registry.getSingleMetric(name) as Counter<string>) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

export function histogram(registry: Registry, name: string, help: string, buckets: number[], labelNames: string[] = []): Histogram<string> {
  return (
    (registry.getSingleMetric(name) as Histogram<string>) ?? new Histogram({ name, help, buckets, labelNames, registers: [registry] })
  );
}
