import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REGISTRATION_SUBMITTED_V1 } from '@gelombang/contracts';
import { withKafkaAdmin } from '@gelombang/platform';
import { audit, type AuditResult } from '../audit';
import { cleanupRunState, infraFromEnv, runState, startIntake, type Infra, type StartedIntake } from '../intake-process';
import { cleanupOnInterrupt, freePort } from '../processes';
import { brokersFromEnv, endOffsets, newKafka, type Offsets } from '../kafka';
import type { Outcomes } from '../registration-load';
import type { Front } from '../edge-process';
import { REPORTS_DIR, reportStamp, type HtmlInput } from '../report';
import type { Slo } from '../slo';

export interface ScenarioContext {
  scenario: string;
  runId: string;
  /** --target as given; undefined when absent. */
  target: string | undefined;
  rate: number | undefined;
  durationSec: number | undefined;
  count: number | undefined;
  smoke: boolean;
  startIntake: boolean;
  /** Port for a started intake; a free one when undefined. */
  intakePort: number | undefined;
  pgSchema: string | undefined;
  consumerGroup: string | undefined;
  audit: boolean;
  /** --cold-connections: the driver connects during the run instead of before it (spike, capacity, soak). */
  coldConnections?: boolean;
  /** --no-lead-in (spike, capacity): no traffic before the measured run; the intake meets it fresh from boot. */
  leadIn?: boolean;
  /** --through-edge (spike): the fronts the same spike goes through in turn, side by side (decision 0018). */
  throughEdge?: Front[];
  connections: number | undefined;
  rates: number[] | undefined;
  /** funnel: share of people who type their NIK with a typo (0..1). */
  typoShare: number | undefined;
  /** enroll-rush: seats in the batch. */
  quota: number | undefined;
  slo: Slo;
  infra: Infra;
}

export interface ScenarioOutcome {
  data: Record<string, unknown>;
  markdown: string;
  breaches: string[];
  /** Charts for the HTML report (scenarios with a per-second timeline). */
  html?: HtmlInput;
}

export const DEFAULT_TARGET = 'http://127.0.0.1:3001';

export const defaultInfra = () => infraFromEnv(brokersFromEnv());

/** The intake a scenario loads: started here (private state, cleaned up after) or the one at --target. */
export interface IntakeUnderTest {
  target: string;
  pgSchema: string | undefined;
  consumerGroup: string | undefined;
  /** Its registration.submitted.v1: the run's own topic when started here, the shared one at --target. */
  submittedTopic: string;
  indexKey: Buffer | undefined;
  /** API and projector processes, when started here. */
  pid: number | undefined;
  projectorPid: number | undefined;
}

export async function withIntake<T>(
  ctx: ScenarioContext,
  opts: { globalLimit?: { burst: number; perSec: number }; cpu?: number; start?: boolean },
  fn: (sut: IntakeUnderTest) => Promise<T>,
): Promise<T> {
  if (!(opts.start ?? ctx.startIntake)) {
    const key = process.env.PII_INDEX_KEY;
    return fn({
      target: ctx.target ?? DEFAULT_TARGET,
      pgSchema: ctx.pgSchema,
      consumerGroup: ctx.consumerGroup,
      submittedTopic: REGISTRATION_SUBMITTED_V1,
      indexKey: key ? Buffer.from(key, 'base64') : undefined,
      pid: undefined,
      projectorPid: undefined,
    });
  }
  let started: StartedIntake | undefined;
  let starting = false;
  const release = async () => {
    if (!started) {
      // Interrupted while starting: whatever of the run's state exists already goes (idempotent).
      if (starting) await cleanupRunState(ctx.infra, runState(ctx.runId)).catch(() => undefined);
      return;
    }
    const s = started;
    started = undefined;
    await s.stop();
    await cleanupRunState(ctx.infra, s);
    process.stderr.write(
      `intake stopped; dropped schema ${s.pgSchema}, deleted ${s.redisPrefix}*, groups ${s.consumerGroups.join(', ')} and topics ${s.topicPrefix}*\n`,
    );
  };
  const unregister = cleanupOnInterrupt(release);
  mkdirSync(REPORTS_DIR, { recursive: true });
  try {
    starting = true;
    started = await startIntake({
      runId: ctx.runId,
      port: ctx.intakePort ?? (await freePort()),
      infra: ctx.infra,
      logPrefix: join(REPORTS_DIR, `${ctx.scenario}-${reportStamp()}`),
      ...(opts.globalLimit ? { globalLimit: opts.globalLimit } : {}),
      ...(opts.cpu === undefined ? {} : { cpu: opts.cpu }),
    });
    return await fn({
      target: started.target,
      pgSchema: started.pgSchema,
      consumerGroup: started.consumerGroups[0],
      submittedTopic: started.topicPrefix + REGISTRATION_SUBMITTED_V1,
      indexKey: started.indexKey,
      pid: started.pid,
      projectorPid: started.projectorPid,
    });
  } finally {
    unregister();
    await release();
  }
}

export const topicEnds = (infra: Infra, topic: string): Promise<Offsets> =>
  withKafkaAdmin(newKafka(infra.brokers, 'loadtests-offsets'), (admin) => endOffsets(admin, topic));

export async function auditIfAsked(ctx: ScenarioContext, sut: IntakeUnderTest, startOffsets: Offsets, outcomes: Outcomes): Promise<AuditResult | undefined> {
  if (!ctx.audit) return undefined;
  if (!sut.pgSchema) throw new Error('the no-loss audit needs --pg-schema (the intake’s PG_SCHEMA), or --start-intake; --no-audit skips it');
  return audit({
    infra: ctx.infra,
    pgSchema: sut.pgSchema,
    startOffsets,
    outcomes,
    runId: ctx.runId,
    topic: sut.submittedTopic,
    ...(sut.indexKey ? { indexKey: sut.indexKey } : {}),
    ...(sut.consumerGroup ? { consumerGroup: sut.consumerGroup } : {}),
  });
}

/** The intake's own counters and CPU time (its Prometheus endpoint); {} when it does not answer. */
export async function scrapeIntake(target: string): Promise<Record<string, number>> {
  try {
    const res = await fetch(`${target}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const out: Record<string, number> = {};
    for (const line of (await res.text()).split('\n')) {
      const m =
        /^((?:intake_|kafka_produce_requests_total|process_cpu_seconds_total|nodejs_eventloop_lag_p99_seconds|nodejs_eventloop_lag_max_seconds)[^ ]*) ([0-9.eE+-]+)$/.exec(
          line,
        );
      if (m)
        out[
          (m[1] as string)
            .replace(/service="intake",?/, '')
            .replace(',}', '}')
            .replace('{}', '')
        ] = Number(m[2]);
    }
    return out;
  } catch {
    return {};
  }
}

/** after − before for counters; the later value for gauges (event-loop lag). */
export function metricsDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    out[k] = k.startsWith('nodejs_eventloop_lag') ? v : Math.round((v - (before[k] ?? 0)) * 1000) / 1000;
  }
  return out;
}
