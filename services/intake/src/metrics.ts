import { counter, histogram, type Registry } from '@gelombang/platform';

/** The intake's own metrics (README: "/metrics"). */
export function intakeMetrics(registry: Registry) {
  // Where a registration's time goes on the server, for ops and for the load suite's reports (the
  // driver sees the total plus the network and the event-loop queue in front of the handler).
  const phase = histogram(
    registry,
    'intake_registration_phase_seconds',
    'POST /v1/registrations on the server, by phase: claim (admission and dedup, one Redis round trip), publish (until Kafka acknowledged), total (request read to answer sent); admission alone for requests refused before their claim',
    [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    ['phase'],
  );
  const timed = (name: string) => {
    const h = phase.labels(name);
    return async <T>(work: Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await work;
      } finally {
        h.observe((performance.now() - t0) / 1000);
      }
    };
  };
  const total = phase.labels('total');
  return {
    accepted: counter(registry, 'intake_registrations_accepted_total', 'Registrations answered 202 (new, not replays)'),
    rejected: counter(registry, 'intake_registrations_rejected_total', 'Registrations refused, by code', ['code']),
    conflicted: counter(
      registry,
      'intake_registrations_conflicted_total',
      'Registrations answered 202 that cannot hold what they name (they end rejected_duplicate), by reason',
      ['reason'],
    ),
    fallback: counter(registry, 'intake_redis_fallback_total', 'Decisions taken without Redis (in-process buckets, PostgreSQL dedup)', ['use']),
    projected: counter(registry, 'intake_projected_total', 'Submissions written to PostgreSQL, by outcome', ['outcome']),
    relayed: counter(registry, 'intake_outbox_published_total', 'Outbox events published to Kafka'),
    expired: counter(registry, 'intake_registrations_expired_total', 'Registrations that never verified their email and expired'),
    erased: counter(registry, 'intake_personal_data_erased_total', 'Registrations whose sealed personal data the retention job erased'),
    timeAdmission: timed('admission'),
    timeClaim: timed('claim'),
    timePublish: timed('publish'),
    observeTotal: (ms: number) => total.observe(ms / 1000),
  };
}

export type IntakeMetrics = ReturnType<typeof intakeMetrics>;
