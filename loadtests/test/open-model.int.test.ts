import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runClosedModel } from '../src/closed-model';
import { runOpenModel, type OpenModelResult } from '../src/open-model';

/**
 * A local server that answers every request after `delayMs`, except that the requests arriving in
 * [first request + stallAfterMs, + stallMs) are all held until the stall ends (a GC pause, a broker
 * failover): the server "stops answering" for stallMs.
 */
async function localServer(opts: { delayMs: number; stallAfterMs?: number; stallMs?: number }): Promise<{ url: string; close: () => Promise<void> }> {
  let first: number | undefined;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const now = Date.now();
      first ??= now;
      let wait = opts.delayMs;
      if (opts.stallAfterMs !== undefined && opts.stallMs !== undefined) {
        const from = first + opts.stallAfterMs;
        const until = from + opts.stallMs;
        if (now >= from && now < until) wait = Math.max(wait, until - now);
      }
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), wait);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}

const get = () => ({ path: '/', method: 'GET' as const });

describe('open-model driver (latency from the scheduled send time)', () => {
  it('with openConnectionsFirst, connects before the schedule (unmeasured health checks) and sends the run over those connections only', async () => {
    const seen: Array<{ url: string; socket: number }> = [];
    const sockets = new Map<unknown, number>();
    const server: Server = createServer((req, res) => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, sockets.size);
      seen.push({ url: req.url ?? '', socket: sockets.get(req.socket)! });
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const r = await runOpenModel({
        target: `http://127.0.0.1:${port}`,
        steps: [{ ratePerSec: 100, durationSec: 0.5 }],
        makeRequest: () => ({ path: '/run', method: 'GET' }),
        progress: false,
        connections: 8,
        openConnectionsFirst: 8,
      });
      expect(r.connectionsOpenedFirst).toBe(8);
      expect([r.scheduled, r.answered]).toEqual([50, 50]);
      expect(seen.slice(0, 8).map((x) => x.url)).toEqual(Array(8).fill('/health/live'));
      expect(new Set(seen.slice(0, 8).map((x) => x.socket)).size).toBe(8);
      const run = seen.slice(8);
      expect(run.map((x) => x.url)).toEqual(Array(50).fill('/run'));
      expect(Math.max(...run.map((x) => x.socket))).toBeLessThan(8); // no connection opened during the run
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections());
    }
  }, 10_000);

  it('measures a server that always takes 50 ms as about 50 ms at p50, sending every request on schedule', async () => {
    const srv = await localServer({ delayMs: 50 });
    try {
      const r = await runOpenModel({ target: srv.url, steps: [{ ratePerSec: 200, durationSec: 2 }], makeRequest: get, progress: false, connections: 64 });
      expect(r.scheduled).toBe(400);
      expect(r.sent).toBe(400);
      expect(r.dropped).toBe(0);
      expect(r.statusCounts).toEqual({ 200: 400 });
      expect(r.errorCount).toBe(0);
      expect(r.latencyMs.p50).toBeGreaterThanOrEqual(45);
      expect(r.latencyMs.p50).toBeLessThanOrEqual(80);
      expect(r.timeline.slice(0, 2).map((t) => t.offered)).toEqual([200, 200]);
      expect(r.timeline.reduce((n, t) => n + t.achieved, 0)).toBe(400);
    } finally {
      await srv.close();
    }
  }, 10_000);

  it('when the server stops answering for 1 s, the scheduled-time p99 shows the stall while a closed loop (autocannon) hides it', async () => {
    const open = await localServer({ delayMs: 1, stallAfterMs: 1000, stallMs: 1000 });
    let openRun: OpenModelResult;
    try {
      openRun = await runOpenModel({ target: open.url, steps: [{ ratePerSec: 200, durationSec: 3 }], makeRequest: get, progress: false, connections: 256 });
    } finally {
      await open.close();
    }
    // A third of the requests were due during the stall; the first of them waited the whole second.
    expect(openRun.answered).toBe(600);
    expect(openRun.latencyMs.p99).toBeGreaterThan(800);
    expect(openRun.latencyMs.max).toBeGreaterThan(900);
    expect(openRun.timeline[1]?.p99).toBeGreaterThan(800);
    expect(openRun.latencyMs.p50).toBeLessThan(50);

    const closed = await localServer({ delayMs: 1, stallAfterMs: 1000, stallMs: 1000 });
    try {
      const naive = await runClosedModel({ url: closed.url, method: 'GET', connections: 10, durationSec: 3 });
      // Each connection waited once (max shows it), but the thousands of quick answers around the
      // stall push it below the 99th percentile: per-request timing reports a healthy server.
      expect(naive.latencyMs.max).toBeGreaterThan(900);
      expect(naive.latencyMs.p99).toBeLessThan(100);
    } finally {
      await closed.close();
    }
  }, 15_000);
});
