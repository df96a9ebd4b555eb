import { calendarDateIn } from '@gelombang/nik';
import { runOpenModel, type OpenModelResult, type RateStep } from './open-model';
import { applicant, REGISTRATIONS_PATH } from './registrations';

/** What the audit needs to know about every request of a run. */
export interface Outcomes {
  /** registrationId of every 202. */
  accepted: string[];
  /** NIKs answered 4xx: the service said no, so it must have published and written nothing. */
  refusedNiks: string[];
  /** NIKs answered 5xx or not at all (timeout, reset): the registration may or may not exist. */
  uncertainNiks: string[];
  /** Error codes of the non-202 answers, e.g. "429 RATE_LIMITED". */
  refusalCodes: Record<string, number>;
}

export const emptyOutcomes = (): Outcomes => ({ accepted: [], refusedNiks: [], uncertainNiks: [], refusalCodes: {} });

export interface RegistrationLoadOptions {
  target: string;
  steps: RateStep[];
  maxRequests?: number;
  runId: string;
  /** Seed of the first applicant; applicant i is seed firstSeed + i. */
  firstSeed: number;
  label: string;
  connections?: number;
  /**
   * Connect during the run (every connection opened by the schedule) instead of before it. By default
   * all `connections` are opened first, unmeasured, as the load balancer in front of a running intake
   * holds its keep-alive connections: the applicants' own connections end at the balancer.
   */
  coldConnections?: boolean;
  outcomes: Outcomes;
  progress?: false;
}

/** POSTs unique valid applicants on the open-model schedule and records each outcome. */
export async function runRegistrationLoad(o: RegistrationLoadOptions): Promise<OpenModelResult> {
  const today = calendarDateIn(new Date());
  const niks: string[] = [];
  return runOpenModel({
    target: o.target,
    steps: o.steps,
    ...(o.maxRequests === undefined ? {} : { maxRequests: o.maxRequests }),
    connections: o.connections ?? 256,
    openConnectionsFirst: o.coldConnections ? 0 : (o.connections ?? 256),
    label: o.label,
    ...(o.progress === false ? { progress: false as const } : {}),
    makeRequest: (i) => {
      const a = applicant(o.firstSeed + i, o.runId, today);
      niks[i] = a.nik;
      return { path: REGISTRATIONS_PATH, method: 'POST', headers: a.headers, body: a.body };
    },
    onResponse: (i, status, body) => {
      const nik = niks[i] as string;
      if (status === 202) {
        const id = (JSON.parse(body) as { registrationId?: string }).registrationId;
        // A 202 without an id cannot be audited: count it with the unknown outcomes.
        if (id) o.outcomes.accepted.push(id);
        else o.outcomes.uncertainNiks.push(nik);
        return;
      }
      (status >= 400 && status < 500 ? o.outcomes.refusedNiks : o.outcomes.uncertainNiks).push(nik);
      let code = 'unknown';
      try {
        code = (JSON.parse(body) as { code?: string }).code ?? code;
      } catch {
        // not JSON: keep "unknown"
      }
      const key = `${status} ${code}`;
      o.outcomes.refusalCodes[key] = (o.outcomes.refusalCodes[key] ?? 0) + 1;
    },
    onError: (i) => void o.outcomes.uncertainNiks.push(niks[i] as string),
  });
}

/**
 * Registrations sent before the measured run (spike, capacity), audited like the rest but not counted in
 * its latency. The seed's 80,000-in-a-minute came hours into a registration that was already running, so
 * its peak met warm processes (JIT-compiled paths, Kafka producer metadata, Redis scripts loaded, the
 * projector consuming); a just-started intake answers its first second several times slower.
 * `--no-lead-in` measures that case.
 */
export const LEAD_IN = { ratePerSec: 200, durationSec: 5 };
/** The lead-in of a --smoke run (which only checks the wiring): a second at 50/s. */
const SMOKE_LEAD_IN = { ratePerSec: 50, durationSec: 1 };

export interface LeadIn {
  ratePerSec: number;
  durationSec: number;
  scheduled: number;
  /** Answered 202 (the audit's "accepted"). */
  accepted: number;
  /** Everything else: refused, failed, unanswered or dropped. */
  failed: number;
  p99Ms: number;
  /** Refusals by code during the lead-in (kept out of the measured run's). */
  refusalCodes: Record<string, number>;
}

/**
 * Sends the lead-in (`LEAD_IN`, or a second at 50/s when `smoke`) with seeds from `firstSeed` on, into
 * `outcomes` (the audit covers it); the measured run starts at `firstSeed + scheduled`.
 */
export async function runLeadIn(o: { label: string; target: string; runId: string; firstSeed: number; smoke: boolean; outcomes: Outcomes }): Promise<LeadIn> {
  const step = o.smoke ? SMOKE_LEAD_IN : LEAD_IN;
  process.stderr.write(`${o.label}: lead-in ${step.ratePerSec}/s for ${step.durationSec} s (audited, not counted)\n`);
  const refusalsBefore = { ...o.outcomes.refusalCodes };
  const done = await runRegistrationLoad({
    target: o.target,
    steps: [step],
    runId: o.runId,
    firstSeed: o.firstSeed,
    label: 'lead-in',
    outcomes: o.outcomes,
    progress: false,
  });
  const accepted = done.statusCounts['202'] ?? 0;
  const refusalCodes = refusalsMinus(o.outcomes.refusalCodes, refusalsBefore);
  return { ...step, scheduled: done.scheduled, accepted, failed: done.scheduled - accepted, p99Ms: done.latencyMs.p99, refusalCodes };
}

/** A lead-in request that was not accepted fails the run: the surge must not start from a broken intake. */
export const leadInBreaches = (l: LeadIn | undefined): string[] =>
  l && l.failed > 0 ? [`lead-in: ${l.failed} of ${l.scheduled} requests not accepted (202)`] : [];

/** Refusal counts by code in `all` that are not in `part` (codes left with none are dropped). */
const refusalsMinus = (all: Record<string, number>, part: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(all)
      .map(([code, n]) => [code, n - (part[code] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );

/** The measured run's refusals by code: the run's outcomes minus the lead-in's. */
export const measuredRefusals = (outcomes: Outcomes, l: LeadIn | undefined): Record<string, number> =>
  refusalsMinus(outcomes.refusalCodes, l?.refusalCodes ?? {});
