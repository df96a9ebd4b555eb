import { counter, scrapedGauge, type Registry } from '@gelombang/platform';
import type { BatchesRepository } from './data-access/batches-repository';

/** The enrollment service's own metrics (README: "/metrics"). */
export function enrollmentMetrics(registry: Registry, batches: BatchesRepository) {
  // Seats left per batch not yet closed, read at scrape time (an MVCC read, no lock on the hot row).
  scrapedGauge(
    registry,
    'enrollment_batch_seats_left',
    'Seats left per batch not yet closed',
    async () => (await batches.seatsLeft()).map((b) => ({ labels: { batch_id: b.batchId }, value: b.seatsLeft })),
    ['batch_id'],
  );
  return {
    outcomes: counter(
      registry,
      'enrollment_requests_total',
      'Enrollment answers by outcome (enrolled, replayed, withdrawn, or an error code) and where a refusal was decided',
      ['outcome', 'answered_by'],
    ),
    fallback: counter(registry, 'enrollment_redis_fallback_total', 'Decisions taken without Redis', ['use']),
    eligible: counter(registry, 'enrollment_eligibility_stored_total', 'nik.verified.v1 events that created or moved an eligibility row'),
    published: counter(registry, 'enrollment_outbox_published_total', 'Outbox rows published to Kafka'),
  };
}
