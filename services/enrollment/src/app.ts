import { join } from 'node:path';
import { NIK_VERIFIED_V1 } from '@gelombang/contracts';
import {
  counter,
  connectInfrastructure,
  createServer,
  deadLetterTo,
  scrapedGauge,
  startConsumer,
  TokenBucket,
  type App,
  type RunningConsumer,
} from '@gelombang/platform';
import type { EnrollmentConfig } from './config';
import { BatchesRepository } from './data-access/batches-repository';
import { EligibilityRepository } from './data-access/eligibility-repository';
import { EnrollmentsRepository } from './data-access/enrollments-repository';
import { SeatFlags } from './data-access/seat-flags';
import type { BatchDefinition } from './domain/batch-window';
import type { EnrollPorts } from './domain/enroll';
import { nikVerifiedHandler, parseNikVerified } from './consumers/nik-verified.consumer';
import { batchRoutes } from './routes/batches';
import { enrollmentRoutes } from './routes/enrollments';

export interface BuildOptions {
  logStream?: NodeJS.WritableStream;
  /** Consumers begin at the topic's end (tests share topics with everything else on the broker). */
  consumerStartAt?: 'committed' | 'end';
}

export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');

/**
 * Builds the enrollment service: PostgreSQL (migrated, the truth), Redis (full flags, admission),
 * Kafka (nik.verified.v1 in, enrollment events out through the outbox). Never listens.
 */
export async function buildApp(config: EnrollmentConfig, opts: BuildOptions = {}): Promise<App> {
  const app = await createServer({
    service: 'enrollment',
    description: 'Gelombang batch enrollment: training batches with quotas, one active batch per person',
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.HTTP_BODY_LIMIT_BYTES,
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
  });
  const m = {
    outcomes: counter(app.metrics, 'enrollment_requests_total', 'Enrollment answers by outcome (enrolled, replayed, withdrawn, or an error code) and where a refusal was decided', ['outcome', 'answered_by']),
    fallback: counter(app.metrics, 'enrollment_redis_fallback_total', 'Decisions taken without Redis', ['use']),
    eligible: counter(app.metrics, 'enrollment_eligibility_stored_total', 'nik.verified.v1 events that created or moved an eligibility row'),
    published: counter(app.metrics, 'enrollment_outbox_published_total', 'Outbox rows published to Kafka'),
  };

  // Without Redis the service is slower under a rush, never wrong: PostgreSQL decides every seat.
  const { pool, redis, kafka, producer, relay, close } = await connectInfrastructure(app, config, {
    service: 'enrollment',
    migrationsDir: MIGRATIONS_DIR,
    whenRedisDown: 'every attempt goes to PostgreSQL',
    onPublished: (n) => m.published.inc(n),
  });

  const batches = new BatchesRepository(pool);
  const enrollments = new EnrollmentsRepository(pool);
  let redisDown = false;
  const onRedisError = (use: string) => () => {
    m.fallback.inc({ use });
    if (!redisDown) app.log.warn({ use }, 'redis unavailable: full flags off, admission per process');
    redisDown = true;
  };
  const flags = new SeatFlags(redis, config.REDIS_KEY_PREFIX, config.FULL_FLAG_TTL_SEC, onRedisError('full_flag'));
  const bucket = new TokenBucket(redis, {
    onFallback: onRedisError('admission'),
    onSourceChange: (source) => {
      if (source === 'redis') {
        redisDown = false;
        app.log.info('redis back: admission shared again');
      }
    },
  });

  // Definitions never change once created, so a replica keeps each one it has seen.
  const definitions = new Map<string, BatchDefinition>();
  const remember = (d: BatchDefinition) =>
    void definitions.set(d.batchId, { batchId: d.batchId, name: d.name, quota: d.quota, opensAt: d.opensAt, closesAt: d.closesAt });

  const ports: EnrollPorts = {
    batch: async (batchId) => {
      const known = definitions.get(batchId);
      if (known) return known;
      const row = await batches.find(batchId);
      if (row) remember(row);
      return row;
    },
    person: (registrationId) => enrollments.personState(registrationId),
    flags,
    admit: (batchId) => bucket.take([{ key: flags.admissionKey(batchId), capacity: config.RATE_LIMIT_BATCH_BURST, ratePerSec: config.RATE_LIMIT_BATCH_PER_SEC }]),
    enroll: async (input) => {
      const result = await enrollments.enroll(input);
      if (result.kind === 'enrolled') relay.wake();
      return result;
    },
    now: () => new Date(),
  };

  batchRoutes(app, { batches, adminToken: config.ADMIN_TOKEN, remember });
  enrollmentRoutes(app, {
    ports,
    enrollments,
    seatFreed: async (batchId) => {
      relay.wake();
      await flags.clear(batchId);
    },
    retryAfterSec: config.RETRY_AFTER_SEC,
    retryJitterSec: config.RATE_LIMIT_RETRY_JITTER_SEC,
    onOutcome: (outcome, answeredBy = 'postgres') => m.outcomes.inc({ outcome, answered_by: answeredBy }),
  });

  // Seats left per batch not yet closed, read at scrape time (an MVCC read, no lock on the hot row).
  scrapedGauge(
    app.metrics,
    'enrollment_batch_seats_left',
    'Seats left per batch not yet closed',
    async () => (await batches.seatsLeft()).map((b) => ({ labels: { batch_id: b.batchId }, value: b.seatsLeft })),
    ['batch_id'],
  );


  const consumers: RunningConsumer[] = [];
  if (config.CONSUMER_ENABLED) {
    const eligibility = new EligibilityRepository(pool);
    consumers.push(
      await startConsumer(kafka, {
        groupId: config.CONSUMER_GROUP,
        topics: [NIK_VERIFIED_V1],
        logger: app.log as any,
        parse: parseNikVerified,
        handle: nikVerifiedHandler(eligibility, (n) => m.eligible.inc(n)),
        deadLetter: deadLetterTo(producer, config.CONSUMER_GROUP),
        startAt: opts.consumerStartAt ?? config.CONSUMER_START_AT,
      }),
    );
    app.readiness.add('consumers', async () => {
      if (!consumers.every((c) => c.isRunning)) throw new Error('consumer stopped');
    });
  }

  app.addHook('onClose', () => close(consumers));
  return app;
}
