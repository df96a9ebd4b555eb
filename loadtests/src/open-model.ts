import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { Client, type Dispatcher } from 'undici';
import { sampleMachineCpu, type MachineCpu } from './machine';
import { CLOCK_TICKS } from './processes';

/*
 * Open-model load driver (the wrk2 idea): requests leave on a fixed schedule whatever the server does,
 * and each latency is measured from the time the request *should* have left. A closed loop (autocannon,
 * wrk) waits for answers before sending more, so a stalled server silences its own bad seconds
 * ("coordinated omission"); here every request due during a stall is late, and its latency says so.
 */

export interface RateStep {
  ratePerSec: number;
  durationSec: number;
}

export interface OutgoingRequest {
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface OpenModelOptions {
  /** Origin only, e.g. http://127.0.0.1:3001. */
  target: string;
  steps: RateStep[];
  /** Stops scheduling after this many requests even if the steps go on. */
  maxRequests?: number;
  connections?: number;
  /**
   * Open this many keep-alive connections (one `GET /health/live` each, not measured) before the
   * schedule starts, as the load balancer in front of a running service holds them; 0: open them as
   * the schedule needs them (every client connects during the run).
   */
  openConnectionsFirst?: number;
  /** A request due while this many are in flight is not sent, and is counted as dropped. */
  maxInFlight?: number;
  /** A request that leaves more than this after its scheduled time is counted as late (it is still sent). */
  lateMs?: number;
  requestTimeoutMs?: number;
  makeRequest: (index: number) => OutgoingRequest;
  onResponse?: (index: number, statusCode: number, body: string) => void;
  onError?: (index: number, code: string) => void;
  /** Where the live progress line goes; false for none. Default process.stderr. */
  progress?: NodeJS.WritableStream | false;
  label?: string;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface SecondStats {
  second: number;
  /** Requests scheduled in this second (sent or dropped). */
  offered: number;
  sent: number;
  dropped: number;
  /** Answers (any status) received in this wall-clock second. */
  achieved: number;
  non2xx: number;
  errors: number;
  /** Latency percentiles (ms, from scheduled time) of the requests scheduled in this second. */
  p50: number;
  p99: number;
  max: number;
  /** The whole machine's CPU in this second (cores busy, cores stolen by the hypervisor), where known. */
  busyCores?: number;
  stealCores?: number;
}

export interface OpenModelResult {
  label: string;
  target: string;
  steps: RateStep[];
  startedAt: string;
  elapsedMs: number;
  scheduled: number;
  sent: number;
  dropped: number;
  late: number;
  answered: number;
  statusCounts: Record<string, number>;
  errors: Record<string, number>;
  errorCount: number;
  /** Answers per second over the whole run (first scheduled send to last answer). */
  achievedPerSec: number;
  /** ms from the scheduled send time to the end of the answer. */
  latencyMs: LatencySummary;
  /** ms between the scheduled and the real send time (the driver's own lateness). */
  sendLagMs: { p99: number; max: number };
  maxInFlight: number;
  /** Most requests seen waiting inside the client pool for a connection. */
  maxClientQueued: number;
  /** Connections opened (unmeasured) before the schedule started; 0 when they opened during the run. */
  connectionsOpenedFirst: number;
  timeline: SecondStats[];
  /** The machine's CPU over the schedule (the driver shares the machine: it only targets loopback). */
  machine?: MachineCpu;
}

const US_PER_MS = 1000;

export function newHistogram(digits: 2 | 3 = 3) {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: digits });
}

const ms = (us: number) => Math.round((us / US_PER_MS) * 100) / 100;

export function summarize(h: hdr.Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  // A percentile is reported as its bucket's upper edge; never above the largest value recorded.
  const at = (p: number) => ms(Math.min(h.getValueAtPercentile(p), h.maxValue));
  return {
    count: h.totalCount,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/** Yields each request's offset from the start (ms): evenly spaced within a step, steps back to back. */
function* schedule(steps: RateStep[], maxRequests: number): Generator<number> {
  let emitted = 0;
  let stepStart = 0;
  for (const { ratePerSec, durationSec } of steps) {
    const count = Math.round(ratePerSec * durationSec);
    for (let j = 0; j < count; j++) {
      if (emitted++ >= maxRequests) return;
      yield stepStart + (j * 1000) / ratePerSec;
    }
    stepStart += durationSec * 1000;
  }
}

/** A second's counters while the run goes on; its percentiles come from `hist` at the end. */
type Second = Pick<SecondStats, 'offered' | 'sent' | 'dropped' | 'achieved' | 'non2xx' | 'errors'> & { hist?: hdr.Histogram };

export async function runOpenModel(opts: OpenModelOptions): Promise<OpenModelResult> {
  const label = opts.label ?? 'open-model';
  const maxInFlightAllowed = opts.maxInFlight ?? 5000;
  const lateMs = opts.lateMs ?? 10;
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const progress = opts.progress === undefined ? process.stderr : opts.progress;
  const connections = new ConnectionSet(opts.target, opts.connections ?? 256);
  if (opts.openConnectionsFirst) await connections.open(opts.openConnectionsFirst);

  const latency = newHistogram();
  const lag = newHistogram();
  const seconds: Second[] = [];
  const secondAt = (i: number): Second => (seconds[i] ??= { offered: 0, sent: 0, dropped: 0, achieved: 0, non2xx: 0, errors: 0 });
  const statusCounts: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let scheduled = 0;
  let sent = 0;
  let dropped = 0;
  let late = 0;
  let answered = 0;
  let errorCount = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let maxClientQueued = 0;
  let lastAnswerAt = 0;
  // Set at the deadline: answers and errors arriving later are not counted (they are reported as unfinished).
  let closed = false;

  const plan = schedule(opts.steps, opts.maxRequests ?? Number.MAX_SAFE_INTEGER);
  const plannedMs = opts.steps.reduce((sum, s) => sum + s.durationSec * 1000, 0);
  const start = performance.now();
  const machineCpu = sampleMachineCpu(CLOCK_TICKS);
  const startedAt = new Date(performance.timeOrigin + start).toISOString();
  let next = plan.next();
  let schedulingDone = false;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const maybeFinish = () => {
    if (schedulingDone && inFlight === 0) finish();
  };

  const fire = (index: number, offset: number, now: number) => {
    const sec = secondAt(Math.floor(offset / 1000));
    sec.offered++;
    scheduled++;
    if (inFlight >= maxInFlightAllowed) {
      dropped++;
      sec.dropped++;
      return;
    }
    const lagUs = Math.max(1, Math.round((now - start - offset) * US_PER_MS));
    lag.recordValue(lagUs);
    if (lagUs > lateMs * US_PER_MS) late++;
    sent++;
    sec.sent++;
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    const req = opts.makeRequest(index);
    const chunks: Buffer[] = [];
    let statusCode = 0;
    connections.send(
      { path: req.path, method: req.method ?? 'POST', headers: req.headers ?? {}, body: req.body ?? null, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
      {
        onResponseStart: (_c, status) => void (statusCode = status),
        onResponseData: (_c, chunk) => void chunks.push(chunk),
        onResponseEnd: () => {
          inFlight--;
          if (!closed) {
            const end = performance.now();
            const us = Math.max(1, Math.round((end - start - offset) * US_PER_MS));
            latency.recordValue(us);
            (sec.hist ??= newHistogram(2)).recordValue(us);
            answered++;
            lastAnswerAt = end;
            secondAt(Math.floor((end - start) / 1000)).achieved++;
            statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
            if (statusCode < 200 || statusCode > 299) sec.non2xx++;
            opts.onResponse?.(index, statusCode, chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString());
          }
          maybeFinish();
        },
        onResponseError: (_c, e: Error & { code?: string }) => {
          inFlight--;
          if (!closed) {
            const code = e?.code ?? e?.name ?? 'ERROR';
            errors[code] = (errors[code] ?? 0) + 1;
            errorCount++;
            sec.errors++;
            opts.onError?.(index, code);
          }
          maybeFinish();
        },
      },
    );
  };

  let index = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = performance.now();
    while (!next.done && start + next.value <= now) {
      fire(index++, next.value, now);
      next = plan.next();
    }
    if (connections.queued > maxClientQueued) maxClientQueued = connections.queued;
    if (next.done) {
      schedulingDone = true;
      maybeFinish();
      return;
    }
    // Sleeping at least 1 ms (never spinning) keeps the driver off the CPU the server needs; requests
    // due meanwhile leave together on the next tick and their ≤ ~1 ms lag is counted in their latency.
    timer = setTimeout(tick, Math.max(1, start + next.value - performance.now()));
  };

  const tty = progress === process.stderr && process.stderr.isTTY;
  let lastProgress = { at: start, scheduled: 0, answered: 0 };
  const progressTimer = setInterval(() => {
    if (!progress) return;
    const now = performance.now();
    const dt = (now - lastProgress.at) / 1000;
    const line =
      `[${label}] ${((now - start) / 1000).toFixed(0).padStart(3)}s ` +
      `offered ${Math.round((scheduled - lastProgress.scheduled) / dt)}/s achieved ${Math.round((answered - lastProgress.answered) / dt)}/s ` +
      `in-flight ${inFlight} non-2xx ${Object.entries(statusCounts).reduce((n, [s, c]) => (s.startsWith('2') ? n : n + c), 0)} ` +
      `errors ${errorCount} dropped ${dropped} late ${late} p99 ${summarize(latency).p99} ms`;
    lastProgress = { at: now, scheduled, answered };
    progress.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  }, 1000);

  // Hard bound: the plan, plus one request timeout for the last answers, plus a margin.
  const deadline = setTimeout(
    () => {
      schedulingDone = true;
      if (timer) clearTimeout(timer);
      finish();
    },
    plannedMs + timeoutMs + 5_000,
  );

  tick();
  await finished;
  clearTimeout(deadline);
  clearInterval(progressTimer);
  if (timer) clearTimeout(timer);
  if (tty) process.stderr.write('\n');
  closed = true;
  const machine = machineCpu.stop();
  const unfinished = inFlight;
  if (unfinished > 0) {
    errors.UNFINISHED_AT_DEADLINE = unfinished;
    errorCount += unfinished;
  }
  await connections.destroy();

  const elapsedMs = Math.round(performance.now() - start);
  const activeSec = Math.max(0.001, ((lastAnswerAt || performance.now()) - start) / 1000);
  const timeline: SecondStats[] = [];
  const cpuBySecond = new Map((machine?.perSecond ?? []).map((c) => [c.second, c]));
  for (let i = 0; i < seconds.length; i++) {
    const s = seconds[i] ?? secondAt(i);
    const sum = s.hist ? summarize(s.hist) : undefined;
    const cpu = cpuBySecond.get(i);
    timeline.push({
      second: i,
      offered: s.offered,
      sent: s.sent,
      dropped: s.dropped,
      achieved: s.achieved,
      non2xx: s.non2xx,
      errors: s.errors,
      p50: sum?.p50 ?? 0,
      p99: sum?.p99 ?? 0,
      max: sum?.max ?? 0,
      ...(cpu ? { busyCores: cpu.busyCores, stealCores: cpu.stealCores } : {}),
    });
  }
  return {
    label,
    target: opts.target,
    steps: opts.steps,
    startedAt,
    elapsedMs,
    scheduled,
    sent,
    dropped,
    late,
    answered,
    statusCounts,
    errors,
    errorCount,
    achievedPerSec: Math.round((answered / activeSec) * 10) / 10,
    latencyMs: summarize(latency),
    sendLagMs: { p99: summarize(lag).p99, max: summarize(lag).max },
    maxInFlight,
    maxClientQueued,
    connectionsOpenedFirst: opts.openConnectionsFirst ? Math.min(opts.openConnectionsFirst, opts.connections ?? 256) : 0,
    timeline,
    ...(machine ? { machine } : {}),
  };
}

/**
 * Up to `size` keep-alive connections (one request at a time on each, no pipelining) with an idle
 * stack and a FIFO of requests waiting for one. undici's Pool finds a free connection by scanning all
 * of them on every request, which with hundreds busy cost the driver more CPU than the HTTP work; on
 * two shared cores that CPU is taken from the server being measured. A request waiting here for a
 * connection is still timed from its scheduled send.
 */
class ConnectionSet {
  private readonly clients: Client[] = [];
  private readonly idle: Client[] = [];
  private readonly waiting: Array<[Dispatcher.DispatchOptions, Dispatcher.DispatchHandler]> = [];
  private waitingHead = 0;

  constructor(
    private readonly origin: string,
    private readonly size: number,
  ) {}

  get queued(): number {
    return this.waiting.length - this.waitingHead;
  }

  send(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    let client = this.idle.pop();
    if (!client && this.clients.length < this.size) client = this.connect();
    if (client) this.dispatch(client, options, handler);
    else this.waiting.push([options, handler]);
  }

  private connect(): Client {
    const client = new Client(this.origin, { pipelining: 1, keepAliveTimeout: 30_000 });
    this.clients.push(client);
    return client;
  }

  private dispatch(client: Client, options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    const release = () => {
      if (this.waitingHead < this.waiting.length) {
        const [nextOptions, nextHandler] = this.waiting[this.waitingHead]!;
        this.waiting[this.waitingHead++] = undefined as never;
        if (this.waitingHead > 4096 && this.waitingHead * 2 > this.waiting.length) {
          this.waiting.splice(0, this.waitingHead);
          this.waitingHead = 0;
        }
        this.dispatch(client, nextOptions, nextHandler);
      } else this.idle.push(client);
    };
    client.dispatch(options, {
      ...handler,
      onRequestStart: () => undefined,
      onResponseEnd: (c, trailers) => {
        handler.onResponseEnd?.(c, trailers);
        release();
      },
      onResponseError: (c, e) => {
        handler.onResponseError?.(c, e);
        release();
      },
    });
  }

  /** Opens up to `count` connections at once with an unmeasured `GET /health/live` each; they join the idle stack. */
  async open(count: number): Promise<void> {
    const opened: Array<Promise<void>> = [];
    while (this.clients.length < Math.min(count, this.size)) {
      const client = this.connect();
      opened.push(
        client.request({ path: '/health/live', method: 'GET' }).then(
          async (res) => {
            await res.body.dump();
            this.idle.push(client);
          },
          () => void this.idle.push(client),
        ),
      );
    }
    await Promise.all(opened);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.destroy().catch(() => undefined)));
  }
}
