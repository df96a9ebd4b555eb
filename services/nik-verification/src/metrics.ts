import { counter, histogram, scrapedGauge, type Registry } from '@gelombang/platform';
import type { Backlog } from './data-access/checks-repository';
import type { BreakerState } from './data-access/registry-client';
import type { QuotaWait } from './data-access/registry-quota';
import type { Decision } from './domain/outcome';

const BREAKER_LEVEL: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** The NIK verification service's own metrics (README: "Metrics"). */
export function nikMetrics(registry: Registry) {
  const requests = counter(registry, 'nik_check_requests_total', 'nik.verification-requested.v1 events, by outcome', ['outcome']);
  const calls = counter(registry, 'nik_registry_calls_total', 'Registry calls by outcome (an answer, or why none came)', ['outcome']);
  const callSeconds = histogram(registry, 'nik_registry_call_duration_seconds', 'Registry call latency', [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5]);
  const decided = counter(registry, 'nik_checks_decided_total', 'Checks decided, by state and reason', ['state', 'reason']);
  const quotaWaits = counter(registry, 'nik_quota_waits_total', 'Times the checker waited for a registry-quota token, by reason', ['reason']);
  const quotaWaitSeconds = counter(registry, 'nik_quota_wait_seconds_total', 'Time spent waiting for registry-quota tokens', ['reason']);
  const breakerTransitions = counter(registry, 'nik_registry_breaker_transitions_total', 'Registry circuit-breaker state changes', ['to']);
  return {
    requested: (queued: number, replays: number) => {
      requests.inc({ outcome: 'queued' }, queued);
      requests.inc({ outcome: 'replay' }, replays);
    },
    deadLettered: () => requests.inc({ outcome: 'dead_lettered' }),
    called: (outcome: string, seconds: number) => {
      calls.inc({ outcome: outcome.toLowerCase() });
      callSeconds.observe(seconds);
    },
    decided: (d: Decision) => decided.inc({ state: d.state, reason: d.state === 'rejected' ? d.reason : 'NONE' }),
    quotaWaited: (reason: QuotaWait, ms: number) => {
      quotaWaits.inc({ reason });
      quotaWaitSeconds.inc({ reason }, ms / 1000);
    },
    breakerChanged: (to: BreakerState) => breakerTransitions.inc({ to }),
  };
}

/**
 * Gauges read when /metrics is scraped. The registry is not a readiness dependency (the queue absorbs
 * an outage): its breaker is here and on GET /v1/nik-verifications/backlog.
 */
export function nikGauges(registry: Registry, read: { breakerState: () => BreakerState; backlog: () => Promise<Backlog> }): void {
  scrapedGauge(registry, 'nik_registry_breaker_state', 'Registry circuit breaker: 0 closed, 1 half-open, 2 open', () => [
    { value: BREAKER_LEVEL[read.breakerState()] },
  ]);
  scrapedGauge(
    registry,
    'nik_checks_queued',
    'Checks waiting for the registry',
    async () => {
      const b = await read.backlog();
      return [
        { labels: { when: 'all' }, value: b.queued },
        { labels: { when: 'due' }, value: b.due },
      ];
    },
    ['when'],
  );
}
