import { join } from 'node:path';
import {
  consumersPlugin,
  createService,
  kafkaPlugin,
  outboxPlugin,
  postgresPlugin,
  redisPlugin,
  sessionPlugin,
  TokenBucket,
  type App,
  type ServiceBuildOptions,
} from '@gelombang/platform';
import type { EnrollmentConfig } from './config';
import { BatchesRepository } from './data-access/batches-repository';
import { EligibilityRepository } from './data-access/eligibility-repository';
import { EnrollmentsRepository } from './data-access/enrollments-repository';
import { SeatFlags } from './data-access/seat-flags';
import { RedisFallback } from './domain/redis-fallback';
import { enrollmentMetrics } from './metrics';
import { nikVerifiedConsumer } from './consumers/nik-verified.consumer';
import { statusChangedConsumer } from './consumers/registration-status-changed.consumer';
import { batchRoutes } from './routes/batches';
import { enrollmentRoutes } from './routes/enrollments';

export type BuildOptions = ServiceBuildOptions;

export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');

/**
 * The enrollment service, in the order it opens (and, reversed, closes): PostgreSQL (the truth),
 * Redis (full flags, admission; without it: domain/redis-fallback.ts), Kafka (nik.verified.v1 in,
 * enrollment events out through the outbox). Never listens (server.ts does).
 */
export async function buildApp(config: EnrollmentConfig, opts: BuildOptions = {}): Promise<App> {
  return createService(
    config,
    {
      service: 'enrollment',
      description: 'Gelombang batch enrollment: training batches with quotas, one active batch per person',
      logStream: opts.logStream,
    },
    async (app) => {
      // Applicant sessions (enrolling, a seat and withdrawing are the applicant's): verified in process
      // from the public keys, so it opens nothing and needs nothing; first, so every route has it.
      await app.register(sessionPlugin, { config });
      await app.register(postgresPlugin, { config, migrationsDir: MIGRATIONS_DIR });
      await app.register(redisPlugin, { config, whenDown: 'every attempt goes to PostgreSQL' });
      await app.register(kafkaPlugin, { config });
      const batches = new BatchesRepository(app.pg);
      const m = enrollmentMetrics(app.metrics, batches);
      await app.register(outboxPlugin, { onPublished: (n) => m.published.inc(n) });

      const enrollments = new EnrollmentsRepository(app.pg);
      const fallback = new RedisFallback(app.log, (use) => m.fallback.inc({ use }));
      const flags = new SeatFlags(app.redis, config.REDIS_KEY_PREFIX, config.FULL_FLAG_TTL_SEC, fallback.failed('full_flag'));
      const bucket = new TokenBucket(app.redis, {
        onFallback: fallback.failed('admission'),
        onSourceChange: (source) => {
          if (source === 'redis') fallback.back();
        },
      });

      await app.register(batchRoutes, { batches, adminToken: config.ADMIN_TOKEN });
      await app.register(enrollmentRoutes, {
        ports: {
          batch: (batchId) => batches.definition(batchId),
          person: (registrationId) => enrollments.personState(registrationId),
          flags,
          admit: (batchId) =>
            bucket.take([{ key: flags.admissionKey(batchId), capacity: config.RATE_LIMIT_BATCH_BURST, ratePerSec: config.RATE_LIMIT_BATCH_PER_SEC }]),
          enroll: async (input) => {
            const result = await enrollments.enroll(input);
            if (result.kind === 'enrolled') app.outbox.wake();
            return result;
          },
          now: () => new Date(),
        },
        enrollments,
        seatFreed: async (batchId) => {
          app.outbox.wake();
          await flags.clear(batchId);
        },
        retryAfterSec: config.RETRY_AFTER_SEC,
        retryJitterSec: config.RATE_LIMIT_RETRY_JITTER_SEC,
        onOutcome: (outcome, answeredBy = 'postgres') => m.outcomes.inc({ outcome, answered_by: answeredBy }),
      });

      if (config.CONSUMER_ENABLED) {
        const eligibility = new EligibilityRepository(app.pg);
        await app.register(consumersPlugin, {
          readiness: 'consumers',
          startAt: opts.consumerStartAt ?? config.CONSUMER_START_AT,
          maxAttempts: config.CONSUMER_MAX_ATTEMPTS,
          consumers: [
            nikVerifiedConsumer({ group: config.CONSUMER_GROUP, repository: eligibility, onStored: (n) => m.eligible.inc(n) }),
            // Registrations the intake rejected or expired may not enroll (decision 0024).
            statusChangedConsumer({ group: `${config.CONSUMER_GROUP}-status`, repository: eligibility }),
          ],
        });
      }
    },
  );
}
