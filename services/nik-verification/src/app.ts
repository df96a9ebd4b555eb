import { join } from 'node:path';
import { NIK_VERIFICATION_REQUESTED_V1 } from '@gelombang/contracts';
import {
  counter,
  deadLetterTo,
  connectInfrastructure,
  createServer,
  histogram,
  PiiCipher,
  scrapedGauge,
  startConsumer,
  TokenBucket,
  type App,
  type RunningConsumer,
} from '@gelombang/platform';
import type { NikConfig } from './config';
import { parseRequestedWith, requestedHandler } from './consumers/nik-verification-requested.consumer';
import { ChecksRepository } from './data-access/checks-repository';
import { RegistryClient, type BreakerState } from './data-access/registry-client';
import { RegistryQuota } from './data-access/registry-quota';
import { Checker, RETRY_CODES } from './domain/checker';
import { nikVerificationRoutes } from './routes/nik-verifications';

export interface BuildOptions {
  logStream?: NodeJS.WritableStream;
  /** Consumers begin at the topic's end (tests share topics with everything else on the broker). */
  consumerStartAt?: 'committed' | 'end';
}

export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');
const BREAKER_LEVEL: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * Builds the NIK verification service: PostgreSQL (migrated, with the platform outbox), Redis (the
 * shared registry quota), Kafka (consumer, outbox relay), the registry client and the checker loop.
 * onClose stops them in order. Never listens (server.ts does).
 */
export async function buildApp(config: NikConfig, opts: BuildOptions = {}): Promise<App> {
  const app = await createServer({
    service: 'nik-verification',
    description: 'Gelombang NIK verification: population-registry checks within the partner quota',
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.HTTP_BODY_LIMIT_BYTES,
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
  });
  const m = {
    requests: counter(app.metrics, 'nik_check_requests_total', 'nik.verification-requested.v1 events, by outcome', ['outcome']),
    calls: counter(app.metrics, 'nik_registry_calls_total', 'Registry calls by outcome (an answer, or why none came)', ['outcome']),
    callSeconds: histogram(app.metrics, 'nik_registry_call_duration_seconds', 'Registry call latency', [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5]),
    decided: counter(app.metrics, 'nik_checks_decided_total', 'Checks decided, by state and reason', ['state', 'reason']),
    quotaWaits: counter(app.metrics, 'nik_quota_waits_total', 'Times the checker waited for a registry-quota token, by reason', ['reason']),
    quotaWaitSeconds: counter(app.metrics, 'nik_quota_wait_seconds_total', 'Time spent waiting for registry-quota tokens', ['reason']),
    breakerTransitions: counter(app.metrics, 'nik_registry_breaker_transitions_total', 'Registry circuit-breaker state changes', ['to']),
  };

  // Redis is not a readiness dependency: without it no registry call leaves, and the queue holds the checks.
  const { pool, redis, kafka, producer, relay, close } = await connectInfrastructure(app, config, {
    service: 'nik-verification',
    migrationsDir: MIGRATIONS_DIR,
    whenRedisDown: 'registry calls wait until it is',
  });
  const repository = new ChecksRepository(pool);

  const bucket = new TokenBucket(redis, {
    onSourceChange: (source) =>
      source === 'local' ? app.log.warn('redis unavailable: registry calls paused (the quota is shared through redis)') : app.log.info('redis back: registry calls resume'),
  });
  const quota = new RegistryQuota(
    bucket,
    { key: `${config.REDIS_KEY_PREFIX}nik:registry`, capacity: config.REGISTRY_QUOTA_BURST, ratePerSec: config.REGISTRY_QUOTA_PER_SEC },
    (reason, ms) => {
      m.quotaWaits.inc({ reason });
      m.quotaWaitSeconds.inc({ reason }, ms / 1000);
    },
  );


  let checker: Checker | undefined;
  const registry = new RegistryClient({
    url: config.REGISTRY_URL,
    token: config.REGISTRY_API_TOKEN,
    timeoutMs: config.REGISTRY_TIMEOUT_MS,
    connections: config.REGISTRY_CONCURRENCY,
    breaker: {
      errorThresholdPercentage: config.REGISTRY_BREAKER_ERROR_PERCENT,
      volumeThreshold: config.REGISTRY_BREAKER_VOLUME,
      rollingCountTimeout: config.REGISTRY_BREAKER_WINDOW_MS,
      resetTimeout: config.REGISTRY_BREAKER_RESET_MS,
    },
    onStateChange: (state) => {
      m.breakerTransitions.inc({ to: state });
      if (state === 'open') app.log.warn('registry breaker open: calls paused, checks stay queued');
      else app.log.info({ state }, 'registry breaker state changed');
      if (state === 'closed') {
        // The registry is back: checks that backed off because it was down need not wait any longer;
        // the quota bucket still paces every call.
        repository
          .waiveBackoff([RETRY_CODES.unavailable, RETRY_CODES.timeout])
          .then(() => checker?.wake())
          .catch(() => undefined);
      } else checker?.wake();
    },
  });
  // The registry is NOT a readiness dependency: when it is down the queue absorbs the requests. Its state
  // is on /metrics (nik_registry_breaker_state) and GET /v1/nik-verifications/backlog.
  scrapedGauge(app.metrics, 'nik_registry_breaker_state', 'Registry circuit breaker: 0 closed, 1 half-open, 2 open', () => [{ value: BREAKER_LEVEL[registry.state] }]);
  scrapedGauge(app.metrics, 'nik_checks_queued', 'Checks waiting for the registry', async () => {
    const b = await repository.backlog();
    return [
      { labels: { when: 'all' }, value: b.queued },
      { labels: { when: 'due' }, value: b.due },
    ];
  }, ['when']);

  const cipher = new PiiCipher(config.PII_KEYS, config.PII_ACTIVE_KEY_ID, config.PII_INDEX_KEY);
  checker = new Checker(
    {
      claimDue: (limit, leaseId, leaseMs) => repository.claimDue(limit, leaseId, leaseMs),
      decide: (check, decision, events) => repository.decide(check, decision, events),
      retryLater: (check, delayMs, error, counted) => repository.retryLater(check, delayMs, error, counted),
      release: (checks) => repository.release(checks),
      open: (check) => ({
        nik: cipher.decrypt(check.nikEnc, 'nik'),
        fullName: cipher.decrypt(check.fullNameEnc, 'fullName'),
        birthDate: cipher.decrypt(check.birthDateEnc, 'birthDate'),
      }),
      acquireToken: (running, sleep) => quota.acquire(running, sleep),
      registry: {
        get canCall() {
          return registry.canCall;
        },
        verify: async (person) => {
          const end = m.callSeconds.startTimer();
          try {
            return await registry.verify(person);
          } finally {
            end();
          }
        },
      },
    },
    {
      batchSize: config.CHECK_BATCH_SIZE,
      leaseMs: config.CHECK_LEASE_MS,
      idleMs: config.CHECK_IDLE_MS,
      concurrency: config.REGISTRY_CONCURRENCY,
      retryBaseMs: config.CHECK_RETRY_BASE_MS,
      retryMaxMs: config.CHECK_RETRY_MAX_MS,
      logger: app.log as any,
      onCall: (outcome) => m.calls.inc({ outcome: outcome.toLowerCase() }),
      onDecided: (d) => m.decided.inc({ state: d.state, reason: d.state === 'rejected' ? d.reason : 'NONE' }),
      onCommitted: () => relay.wake(),
    },
  );
  checker.start();
  app.readiness.add('checker', async () => {
    if (!checker!.isRunning) throw new Error('checker stopped');
  });

  const consumers: RunningConsumer[] = [
    await startConsumer(kafka, {
      groupId: config.CONSUMER_GROUP,
      topics: [NIK_VERIFICATION_REQUESTED_V1],
      logger: app.log as any,
      parse: parseRequestedWith(cipher),
      handle: requestedHandler({
        repository,
        onQueued: (queued, replays) => {
          m.requests.inc({ outcome: 'queued' }, queued);
          m.requests.inc({ outcome: 'replay' }, replays);
          if (queued > 0) checker!.wake();
        },
      }),
      deadLetter: async (msg, reason) => {
        m.requests.inc({ outcome: 'dead_lettered' });
        await deadLetterTo(producer, config.CONSUMER_GROUP)(msg, reason);
      },
      startAt: opts.consumerStartAt ?? config.CONSUMER_START_AT,
    }),
  ];
  app.readiness.add('consumer', async () => {
    if (!consumers.every((c) => c.isRunning)) throw new Error('consumer stopped');
  });

  nikVerificationRoutes(app, { repository, breakerState: () => registry.state });

  // Order matters: stop taking work (checker, consumer), let the relay finish what committed, flush the
  // producer, then close the registry client and the stores.
  app.addHook('onClose', async () => {
    await close([checker, ...consumers]);
    await registry.close();
  });
  return app;
}
