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
