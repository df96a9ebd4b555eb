import { join } from 'node:path';
import { calendarDateIn } from '@gelombang/nik';
import { FIELD_MESSAGES, registrationStatusChangedV1Event, registrationSubmittedV1Event } from '@gelombang/contracts';
import {
  consumersPlugin,
  createServer,
  eventConsumer,
  kafkaPlugin,
  outboxPlugin,
  PiiCipher,
  postgresPlugin,
  redisPlugin,
  TokenBucket,
  trustProxySetting,
  type App,
} from '@gelombang/platform';
import type { IntakeConfig } from './config';
import { ClaimsStore } from './data-access/claims-store';
import { RegistrationsRepository } from './data-access/registrations-repository';
import { RegistrationClaims } from './domain/registration-claims';
import { intakeMetrics } from './metrics';
import { admissionBuckets, intakeRateLimit } from './plugins/rate-limit';
import { registrationRoutes } from './routes/registrations';
import { submittedHandler } from './consumers/registration-submitted.consumer';
import { statusChangedHandler } from './consumers/registration-status-changed.consumer';
import { dryRunPorts, isDryRun, warmUp } from './warm-up';

export interface BuildOptions {
  /** Tests pin the registration day. */
  today?: () => Date;
  logStream?: NodeJS.WritableStream;
  /** Consumers begin at the topics' ends (tests share topics with everything else on the broker). */
  consumerStartAt?: 'committed' | 'end';
  /** Dry-run registrations sent through the route before the app is returned (server.ts: INTAKE_WARMUP_REQUESTS). */
  warmUpRequests?: number;
}

export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');

/**
 * The intake service, in the order it opens (and, reversed, closes: consumers first, stores last).
 * What happens when Redis is down: domain/registration-claims.ts. Never listens (server.ts does).
 */
export async function buildApp(config: IntakeConfig, opts: BuildOptions = {}): Promise<App> {
  const app = await createServer({
    service: 'intake',
    description: 'Gelombang intake: registrations for the Kartu Prakerja surge',
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.HTTP_BODY_LIMIT_BYTES,
    fieldMessages: FIELD_MESSAGES,
    trustProxy: trustProxySetting(config.HTTP_TRUST_PROXY),
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
  });
  const m = intakeMetrics(app.metrics);
  await app.register(postgresPlugin, { config, migrationsDir: MIGRATIONS_DIR });
  await app.register(redisPlugin, { config, whenDown: 'running on fallbacks' });
  await app.register(kafkaPlugin, { config });
  // NIK corrections commit their events to the outbox; every intake process relays (SKIP LOCKED shares the rows).
  await app.register(outboxPlugin, { onPublished: (n) => m.relayed.inc(n) });

  const cipher = new PiiCipher(config.PII_KEYS, config.PII_ACTIVE_KEY_ID, config.PII_INDEX_KEY);
  const repository = new RegistrationsRepository(app.pg);
  const store = new ClaimsStore(app.redis, `${config.REDIS_KEY_PREFIX}intake:`, config.IDEMPOTENCY_TTL_SEC);
  const buckets = {
    prefix: config.REDIS_KEY_PREFIX,
    client: { burst: config.RATE_LIMIT_CLIENT_BURST, perSec: config.RATE_LIMIT_CLIENT_PER_SEC },
    global: { burst: config.RATE_LIMIT_GLOBAL_BURST, perSec: config.RATE_LIMIT_GLOBAL_PER_SEC },
  };
  const bucket = new TokenBucket(app.redis, {
    onFallback: () => m.fallback.inc({ use: 'rate_limit' }),
    onSourceChange: (source) =>
      source === 'local' ? app.log.warn('redis unavailable: rate limits now per process') : app.log.info('redis back: rate limits shared again'),
  });
  const claims = new RegistrationClaims({ claims: store, repository, bucket, admissionBuckets: admissionBuckets(buckets), onFallback: (use) => m.fallback.inc({ use }), log: app.log });
  // A fresh Redis is warmed before the first request when that is quick; a reconnect (perhaps to a
  // Redis that restarted empty) checks again, as does any claim that finds the set incomplete.
  await Promise.race([claims.warm(), new Promise((r) => setTimeout(r, 2_000))]);
  app.redis.on('ready', () => claims.redisReady());
  app.addHook('onClose', async () => claims.stop());

  const dryRun = dryRunPorts({ cipher }, () => app.redis.ping());
  await app.register(intakeRateLimit, { bucket, buckets, exempt: (req) => isDryRun(req, dryRun), onLimited: () => m.rejected.inc({ code: 'RATE_LIMITED' }) });
  const rules = { minAge: config.INTAKE_MIN_AGE, maxAge: config.INTAKE_MAX_AGE, today: opts.today ?? (() => calendarDateIn(new Date())) };
  await app.register(registrationRoutes, {
    rules,
    repository,
    claims: store,
    retryAfterSec: config.RETRY_AFTER_SEC,
    rateLimit: { max: config.RATE_LIMIT_CLIENT_BURST, timeWindow: 1000 },
    admit: (client) => m.timeAdmission(claims.admit(client)),
    clientBurst: config.RATE_LIMIT_CLIENT_BURST,
    onRejected: (code) => m.rejected.inc({ code }),
    onAccepted: () => m.accepted.inc(),
    onAnswered: m.observeTotal,
    dryRun,
    correction: {
      cipher,
      repository,
      claimNik: (nikIndex, id) => store.claimNik(nikIndex, id),
      releaseNik: (nikIndex, id) => store.releaseNik(nikIndex, id),
      maxCorrections: config.INTAKE_MAX_NIK_CORRECTIONS,
      rules,
      onCommitted: () => app.outbox.wake(),
    },
    ports: {
      cipher,
      claim: (i, client) => m.timeClaim(claims.claim(i, client)),
      complete: (i, masked) => claims.complete(i, masked),
      markUncertain: (i) => claims.markUncertain(i),
      publish: (message) => m.timePublish(app.producer.publish(message)),
    },
  });

  if (config.CONSUMER_ENABLED) {
    await app.register(consumersPlugin, {
      readiness: 'consumers',
      startAt: opts.consumerStartAt ?? config.CONSUMER_START_AT,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      consumers: [
        eventConsumer(registrationSubmittedV1Event, {
          group: config.CONSUMER_GROUP,
          // During a surge: bigger batches, fewer PostgreSQL transactions and offset commits per
          // registration, at ≤ 100 ms more projection lag (GET answers from Redis until then).
          fetch: { minBytes: 256 * 1024, maxWaitMs: 100 },
          handle: submittedHandler({
            repository,
            publish: (message) => app.producer.publish(message),
            onProjected: (inserted, duplicates) => {
              m.projected.inc({ outcome: 'inserted' }, inserted);
              m.projected.inc({ outcome: 'rejected_duplicate' }, duplicates);
            },
          }),
        }),
        eventConsumer(registrationStatusChangedV1Event, { group: `${config.CONSUMER_GROUP}-status`, handle: statusChangedHandler(repository) }),
      ],
    });
  }

  if (opts.warmUpRequests) {
    const warmed = await warmUp(app, dryRun, { requests: opts.warmUpRequests, today: rules.today() });
    app.log.info(warmed, 'request path warmed up (dry runs: nothing claimed, published or counted)');
  }
  return app;
}
