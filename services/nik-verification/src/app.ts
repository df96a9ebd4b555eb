import { join } from 'node:path';
import {
  consumersPlugin,
  createService,
  kafkaPlugin,
  outboxPlugin,
  PiiCipher,
  postgresPlugin,
  redisPlugin,
  sessionPlugin,
  workerPlugin,
  type App,
  type ServiceBuildOptions,
} from '@gelombang/platform';
import { registryClientOptions, type NikConfig } from './config';
import { requestedConsumer } from './consumers/nik-verification-requested.consumer';
import { statusChangedConsumer } from './consumers/registration-status-changed.consumer';
import { ChecksRepository } from './data-access/checks-repository';
import { RegistryClient } from './data-access/registry-client';
import { RegistryQuota } from './data-access/registry-quota';
import { Checker } from './domain/checker';
import { nikGauges, nikMetrics } from './metrics';
import { nikVerificationRoutes } from './routes/nik-verifications';

export type BuildOptions = ServiceBuildOptions;

export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');

/**
 * The NIK verification service, in the order it opens (and, reversed, closes: the checker and its
 * registry client first, then the consumer, the relay, the producer, Redis, PostgreSQL). A registry
 * outage: domain/checker.ts; Redis down: data-access/registry-quota.ts. Never listens (server.ts does).
 */
export async function buildApp(config: NikConfig, opts: BuildOptions = {}): Promise<App> {
  return createService(
    config,
    {
      service: 'nik-verification',
      description: 'Gelombang NIK verification: population-registry checks within the partner quota',
      logStream: opts.logStream,
    },
    async (app) => {
      const m = nikMetrics(app.metrics);
      // Applicant sessions (a registration's check is its applicant's): verified in process from the
      // public keys, so it opens nothing and needs nothing; first, so every route has it.
      await app.register(sessionPlugin, { config });
      await app.register(postgresPlugin, { config, migrationsDir: MIGRATIONS_DIR });
      // Not a readiness dependency: without Redis no registry call leaves, and the queue holds the checks.
      await app.register(redisPlugin, { config, whenDown: 'registry calls wait until it is' });
      await app.register(kafkaPlugin, { config });
      await app.register(outboxPlugin);

      const repository = new ChecksRepository(app.pg);
      const cipher = PiiCipher.fromConfig(config);
      const quotaBucket = { key: `${config.REDIS_KEY_PREFIX}nik:registry`, capacity: config.REGISTRY_QUOTA_BURST, ratePerSec: config.REGISTRY_QUOTA_PER_SEC };
      const quota = new RegistryQuota(app.redis, quotaBucket, { log: app.log, onWait: m.quotaWaited });
      const registry = new RegistryClient(registryClientOptions(config));
      registry.onStateChange(m.breakerChanged);
      nikGauges(app.metrics, { breakerState: () => registry.state, backlog: () => repository.backlog() });
      const checker = new Checker(
        { queue: repository, cipher, quota, registry },
        {
          batchSize: config.CHECK_BATCH_SIZE,
          leaseMs: config.CHECK_LEASE_MS,
          idleMs: config.CHECK_IDLE_MS,
          concurrency: config.REGISTRY_CONCURRENCY,
          retryBaseMs: config.CHECK_RETRY_BASE_MS,
          retryMaxMs: config.CHECK_RETRY_MAX_MS,
          logger: app.log,
          onCall: m.called,
          onDecided: m.decided,
          onCommitted: () => app.outbox.wake(),
        },
      );

      await app.register(nikVerificationRoutes, { repository, breakerState: () => registry.state });
      // Started before the consumer (checks queued before a restart do not wait for its group to join),
      // stopped after it and before the relay: its calls in flight are recorded and their events
      // enqueued before the relay and the producer close. The registry client is only its own.
      await app.register(workerPlugin, { name: 'checker', worker: checker, close: () => registry.close() });
      const onQueued = (queued: number, replays: number) => {
        m.requested(queued, replays);
        if (queued > 0) checker.wake();
      };
      await app.register(consumersPlugin, {
        readiness: 'consumer',
        startAt: opts.consumerStartAt ?? config.CONSUMER_START_AT,
        maxAttempts: config.CONSUMER_MAX_ATTEMPTS,
        consumers: [
          requestedConsumer({ group: config.CONSUMER_GROUP, cipher, repository, onQueued, onDeadLettered: m.deadLettered }),
          // Registrations the intake rejected or expired are never checked (decision 0024).
          statusChangedConsumer({ group: `${config.CONSUMER_GROUP}-status`, repository }),
        ],
      });
    },
  );
}
