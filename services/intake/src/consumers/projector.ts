import { registrationStatusChangedV1Event, registrationSubmittedV1Event, type EventMessage } from '@gelombang/contracts';
import { eventConsumer, type EventConsumer } from '@gelombang/platform';
import type { RegistrationsRepository } from '../data-access/registrations-repository';
import type { IntakeMetrics } from '../metrics';
import { statusChangedHandler } from './registration-status-changed.consumer';
import { submittedHandler } from './registration-submitted.consumer';

/**
 * The projector: registration.submitted.v1 into PostgreSQL (group `group`), and the later stages'
 * registration.status-changed.v1 into the status GET answers (group `<group>-status`).
 */
export function projectorConsumers(o: {
  group: string;
  repository: RegistrationsRepository;
  publish: (message: EventMessage) => Promise<void>;
  settle: (stored: Array<{ registrationId: string; nikIndex: string; emailIndex: string }>) => Promise<void>;
  holdNik: (nikIndex: string, registrationId: string) => Promise<void>;
  metrics: IntakeMetrics;
}): EventConsumer[] {
  return [
    eventConsumer(registrationSubmittedV1Event, {
      group: o.group,
      // During a surge: bigger batches, fewer PostgreSQL transactions and offset commits per
      // registration, at ≤ 100 ms more projection lag (GET answers from Redis until then).
      fetch: { minBytes: 256 * 1024, maxWaitMs: 100 },
      handle: submittedHandler({
        repository: o.repository,
        publish: o.publish,
        settle: o.settle,
        holdNik: o.holdNik,
        onProjected: (inserted, duplicates) => {
          o.metrics.projected.inc({ outcome: 'inserted' }, inserted);
          o.metrics.projected.inc({ outcome: 'rejected_duplicate' }, duplicates);
        },
      }),
    }),
    eventConsumer(registrationStatusChangedV1Event, {
      group: `${o.group}-status`,
      handle: statusChangedHandler({ repository: o.repository, publish: o.publish, holdNik: o.holdNik }),
    }),
  ];
}
