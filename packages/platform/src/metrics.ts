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

/**
 * A counter whose value another object keeps (a producer's request count): read when Prometheus
 * scrapes, exposed with the counter type its `_total` name promises (promtool checks that).
 */
export function scrapedCounter(registry: Registry, name: string, help: string, read: () => number): Counter<string> {
  const existing = registry.getSingleMetric(name) as Counter<string> | undefined;
  if (existing) return existing;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** One decision of a token bucket, as its metrics see it. */
export type BucketObserver = (specs: ReadonlyArray<{ key: string; capacity: number; ratePerSec: number }>, allowed: boolean, source: 'redis' | 'local') => void;
const bucketObservers = new Set<BucketObserver>();

/** Every TokenBucket of the process reports here; the metrics plugin listens (and stops on close). */
export function observeBucketDecisions(observer: BucketObserver): () => void {
  bucketObservers.add(observer);
  return () => void bucketObservers.delete(observer);
}

export function bucketDecided(specs: ReadonlyArray<{ key: string; capacity: number; ratePerSec: number }>, allowed: boolean, source: 'redis' | 'local'): void {
  for (const o of bucketObservers) o(specs, allowed, source);
}

/**
 * The bucket a Redis key belongs to, as a label with few values: the per-client part of a rate-limit
 * key (`…rl:<kind>:<address>`) and a Redis Cluster hash tag (`{<batchId>}`) are cut out, so
 * `gelombang:rl:client:203.0.113.9` is `gelombang:rl:client` and `gelombang:enrollment:{b1}:admit` is
 * `gelombang:enrollment:{}:admit`. Addresses and ids never become label values.
 */
export function bucketFamily(key: string): string {
  const rl = /(^|:)rl:([^:]+)/.exec(key);
  const cut = rl ? key.slice(0, rl.index + rl[0].length) : key;
  return cut.replace(/\{[^}]*\}/g, '{}');
}
