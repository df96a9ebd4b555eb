import { join } from 'node:path';
import { calendarDateIn } from '@gelombang/nik';
import { FIELD_MESSAGES } from '@gelombang/contracts';
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
import type { IntakeConfig } from './config';
import { projectorConsumers } from './consumers/projector';
import { RegistrationsRepository } from './data-access/registrations-repository';
import { intakeMetrics } from './metrics';
import { admissionPlugin } from './plugins/admission';
import { registrationRoutes } from './routes/registrations';
import { RetentionWorker } from './workers/retention';
import { dryRunPorts, isDryRun, warmUp } from './warm-up';

export interface BuildOptions extends ServiceBuildOptions {
  /** Tests pin the registration day. */
  today?: () => Date;
  /** Dry-run registrations sent through the route before the app is returned (server.ts: INTAKE_WARMUP_REQUESTS). */
  warmUpRequests?: number;
}

export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');

/**
 * The intake service, in the order it opens (and, reversed, closes: consumers first, stores last).
 * What happens when Redis is down: domain/registration-claims.ts. Never listens (server.ts does).
 */
export async function buildApp(config: IntakeConfig, opts: BuildOptions = {}): Promise<App> {
  return createService(
    config,
    {
      service: 'intake',
      description: 'Gelombang intake: registrations for the Kartu Prakerja surge',
      fieldMessages: FIELD_MESSAGES,
      logStream: opts.logStream,
    },
    async (app) => {
      const metrics = intakeMetrics(app.metrics);
      // Applicant sessions (the status and the NIK correction are the applicant's): verified in process
      // from the public keys, so it opens nothing and needs nothing; first, so every route has it.
      await app.register(sessionPlugin, { config });
      // Degraded, not required: the hot path (POST) needs Redis and Kafka only; a database outage must not take every replica out of rotation.
      await app.register(postgresPlugin, { config, migrationsDir: MIGRATIONS_DIR, readiness: 'degraded' });
      await app.register(redisPlugin, { config, whenDown: 'running on fallbacks' });
      await app.register(kafkaPlugin, { config });
      // NIK corrections commit their events to the outbox; every intake process relays (SKIP LOCKED shares the rows).
      await app.register(outboxPlugin, { onPublished: (n) => metrics.relayed.inc(n) });

      const cipher = PiiCipher.fromConfig(config);
      const repository = new RegistrationsRepository(app.pg);
      const dryRun = dryRunPorts({ cipher }, () => app.redis.ping());
      await app.register(admissionPlugin, { config, repository, metrics, exempt: (req) => isDryRun(req, dryRun) });
      const rules = { minAge: config.INTAKE_MIN_AGE, maxAge: config.INTAKE_MAX_AGE, today: opts.today ?? (() => calendarDateIn(new Date())) };
      await app.register(registrationRoutes, { config, rules, cipher, repository, metrics, dryRun });

      if (config.CONSUMER_ENABLED) {
        await app.register(consumersPlugin, {
          readiness: 'consumers',
          startAt: opts.consumerStartAt ?? config.CONSUMER_START_AT,
          maxAttempts: config.CONSUMER_MAX_ATTEMPTS,
          topicPrefix: config.KAFKA_TOPIC_PREFIX,
          consumers: projectorConsumers({
            group: config.CONSUMER_GROUP,
            repository,
            publish: (message) => app.producer.publish(message),
            settle: (stored) => app.claims.settle(stored),
            holdNik: (nikIndex, registrationId) => app.claims.holdNik(nikIndex, registrationId),
            metrics,
          }),
        });
        // Expiry of unverified registrations and the retention of personal data (workers/retention.ts).
        const retention = new RetentionWorker(
          {
            repository,
            claims: app.claims,
            pendingSec: config.INTAKE_PENDING_REGISTRATION_TTL_SEC,
            retentionSec: config.INTAKE_RETENTION_SEC,
            pollMs: config.INTAKE_RETENTION_POLL_MS,
            onExpired: (n) => metrics.expired.inc(n),
            onErased: (n) => metrics.erased.inc(n),
            onEnqueued: () => app.outbox.wake(),
          },
          app.log,
        );
        await app.register(workerPlugin, { name: 'retention', worker: retention });
      }

      if (opts.warmUpRequests) {
        const warmed = await warmUp(app, dryRun, { requests: opts.warmUpRequests, today: rules.today() });
        app.log.info(warmed, 'request path warmed up (dry runs: nothing claimed, published or counted)');
      }
    },
  );
}
