import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupOnInterrupt } from '../../../loadtests/src/processes';
import { newRunId } from '../../../loadtests/src/registrations';
import { call } from '../../../loadtests/src/cluster';
import { check, expectPromisesKept, record, stateBefore, type CheckOptions, type Report } from './checker';
import { logDir } from './datastores';
import { startCluster, type Cluster, type ClusterOptions, type ServiceName } from './cluster';
import { createBatch, History, loadPopulation, Mailbox, people, runLoad, type Person } from './load';

/** Seconds of the PostgreSQL and Redis outages (the 30 s; CHAOS_OUTAGE_SEC shortens a local run). */
export const OUTAGE_SEC = Number(process.env.CHAOS_OUTAGE_SEC ?? 30);
/** Registrations per second of every scenario's load (CHAOS_RATE). */
export const RATE = Number(process.env.CHAOS_RATE ?? 20);
/** Seconds of load before the fault and after the heal. */
export const LEAD_SEC = Number(process.env.CHAOS_LEAD_SEC ?? 4);
export const TAIL_SEC = Number(process.env.CHAOS_TAIL_SEC ?? 6);
/**
 * How long after the fault an applicant waits for each funnel step before the checker calls them stuck:
 * longer than the mail sender's lease (MAIL_CLAIM_LEASE_SEC, 120 s), after which a code that could not
 * be stored during an outage is mailed.
 */
export const STAGE_GRACE_SEC = Number(process.env.CHAOS_STAGE_GRACE_SEC ?? 150);

export interface Scenario {
  name: string;
  /** Seconds the fault lasts (the load runs LEAD_SEC before it and TAIL_SEC after it). */
  faultSec: number;
  /** Seconds of load after LEAD_SEC when the fault's own steps take longer than faultSec (rolling kills). */
  loadSec?: number;
  /** Applicants go through the whole funnel (mail, confirm, NIK, enrollment); the batch has `quota` seats. */
  funnel?: { quota: number };
  /** Breaks something at the fault's start; resolves with its heal, called `faultSec` later. */
  fault(c: Cluster, h: History): Promise<() => Promise<void>>;
  check?: Partial<CheckOptions>;
  ratePerSec?: number;
  /**
   * The service whose readiness is sampled (every 500 ms) through the fault: `drops` — it must leave
   * rotation while the fault lasts (a balancer stops sending it traffic it cannot serve); `stays` — it
   * must stay in rotation (its hot path does not need what failed).
   */
  readiness?: { service: ServiceName; expect: 'drops' | 'stays' };
  /** More checks of the scenario's own, on the world before it is stopped. */
  after?: (c: Cluster, o: Outcome) => Promise<void>;
}

export interface Outcome {
  report: Report;
  persons: Person[];
  history: History;
}

/**
 * A world for the scenarios of one describe block: started before them, stopped after (each scenario
 * has its own people, batch and history; the checker looks at those only).
 */
export function world(o: Omit<ClusterOptions, 'name'> & { name: string }): () => Cluster {
  let cluster: Cluster | undefined;
  let unregister = () => undefined as void;
  beforeAll(async () => {
    cluster = await startCluster(o);
    // PostgreSQL and Kafka run detached (pg_ctl, kafka.sh): an interrupted run must not leave them behind.
    const c = cluster;
    unregister = cleanupOnInterrupt(() => c.stop());
  }, 180_000);
  afterAll(async () => {
    unregister();
    await cluster?.stop();
  }, 120_000);
  return () => {
    if (!cluster) throw new Error(`world ${o.name} did not start`);
    return cluster;
  };
}

/** Runs one scenario in `cluster`: the load through the fault, the checker; records the report and asserts the promises. */
export async function runScenario(cluster: Cluster, s: Scenario): Promise<Outcome> {
  const t0 = Date.now();
  const runId = newRunId();
  const rate = s.ratePerSec ?? RATE;
  const persons = people(Math.round(rate * (LEAD_SEC + Math.max(s.faultSec, s.loadSec ?? 0) + TAIL_SEC)), runId);
  const batchId = `chaos-${runId}`;
  const before = await stateBefore(cluster);
  let mailbox: Mailbox | undefined;
  if (s.funnel) {
    await loadPopulation(cluster, persons);
    await createBatch(cluster, batchId, s.funnel.quota);
    mailbox = new Mailbox(cluster.maildev.apiUrl, runId, 300);
  }
  const history = new History();
  const load = runLoad(
    cluster,
    history,
    persons,
    {
      ratePerSec: rate,
      patienceMs: (s.faultSec + 60) * 1000,
      ...(s.funnel ? { funnel: { batchId, stageTimeoutMs: (s.faultSec + STAGE_GRACE_SEC) * 1000 } } : {}),
    },
    mailbox,
  );
  await sleep(LEAD_SEC * 1000);
  const readiness: number[] = [];
  let sampling = Boolean(s.readiness);
  const sampler = (async () => {
    while (sampling) {
      const a = await call('GET', `${cluster.svc[s.readiness!.service].url}/health/ready`, undefined, {}, 2_000).catch(() => undefined);
      readiness.push(a?.status ?? 0);
      await sleep(500);
    }
  })();
  const end = history.fault(s.name);
  const heal = await s.fault(cluster, history);
  await sleep(Math.max(0, s.faultSec * 1000 - (history.now() - (history.windows.at(-1)?.from ?? 0))));
  end.healing();
  await heal();
  sampling = false;
  await sampler;
  end.healed();
  await load;
  await mailbox?.stop();
  const report = await check(cluster, {
    scenario: s.name,
    before,
    persons,
    history,
    mailCooldownSec: Number(cluster.env.EMAIL_RESEND_COOLDOWN_SEC ?? 60),
    mailBurst: Number(cluster.env.MAIL_QUOTA_BURST ?? 50),
    mailPerSec: Number(cluster.env.MAIL_QUOTA_PER_SEC ?? 50),
    ...(s.funnel ? { batch: { id: batchId, quota: s.funnel.quota } } : {}),
    ...s.check,
  });
  // The whole history, for reading a failure: who was told what, and where each person ended.
  writeFileSync(
    join(logDir(cluster.name), `${s.name}-history.json`),
    JSON.stringify({ windows: history.windows, persons: persons.map((p) => ({ ...p, acceptedIds: [...p.acceptedIds] })), answers: history.answers }),
  );
  const readyShare = readiness.length ? Math.round((readiness.filter((x) => x === 200).length / readiness.length) * 100) : null;
  record(report, {
    readyDuringFaultPct: readyShare,
    tookMs: Date.now() - t0,
    people: persons.length,
    ratePerSec: rate,
    faultSec: s.faultSec,
    funnel: Boolean(s.funnel),
  });
  expectPromisesKept(report);
  if (s.readiness?.expect === 'drops') expect({ readinessDuringFault: readiness.some((x) => x !== 200) }).toEqual({ readinessDuringFault: true });
  if (s.readiness?.expect === 'stays') expect({ readinessDuringFault: readiness.filter((x) => x !== 200) }).toEqual({ readinessDuringFault: [] });
  await s.after?.(cluster, { report, persons, history });
  return { report, persons, history };
}
