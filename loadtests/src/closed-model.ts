import autocannon from 'autocannon';

/*
 * Closed-loop maximum throughput (autocannon): each connection sends its next request as soon as the
 * previous one is answered. Good for "how many per second at most"; its latencies are from the real
 * send time, so they hide stalls (see open-model.ts) — read them as service times, not user waits.
 */

export interface ClosedModelOptions {
  /** Full URL of the endpoint. */
  url: string;
  method?: 'GET' | 'POST';
  connections?: number;
  durationSec: number;
  warmupSec?: number;
  timeoutSec?: number;
  /** Called for every request: a fresh body and headers each time (unique people, varied clients). */
  makeRequest?: (index: number) => { body: string; headers: Record<string, string> };
}

export interface ClosedModelResult {
  url: string;
  connections: number;
  durationSec: number;
  /** Mean answers per second, any status. */
  reqPerSec: number;
  /** Mean 2xx answers per second. */
  okPerSec: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCounts: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

export async function runClosedModel(opts: ClosedModelOptions): Promise<ClosedModelResult> {
  const connections = opts.connections ?? 100;
  let index = 0;
  const make = opts.makeRequest;
  const result = await autocannon({
    url: opts.url,
    method: opts.method ?? 'POST',
    connections,
    duration: opts.durationSec,
    timeout: opts.timeoutSec ?? 10,
    ...(opts.warmupSec ? { warmup: { connections, duration: opts.warmupSec } } : {}),
    ...(make
      ? {
          requests: [
            {
              setupRequest: (req: autocannon.Request) => {
                const { body, headers } = make(index++);
                return { ...req, body, headers: { ...req.headers, ...headers } };
              },
            },
          ],
        }
      : {}),
  });
  const statusCounts: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCounts[code] = stat.count ?? 0;
  const total = result.requests.total;
  return {
    url: opts.url,
    connections,
    durationSec: result.duration,
    reqPerSec: Math.round(total / result.duration),
    okPerSec: Math.round(result['2xx'] / result.duration),
    total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCounts,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
  };
}
