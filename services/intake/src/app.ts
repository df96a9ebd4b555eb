import { join } from 'node:path';
import rateLimit from '@fastify/rate-limit';
import { calendarDateIn } from '@gelombang/nik';
import {
  FIELD_MESSAGES,
  REGISTRATION_STATUS_CHANGED_V1,
  REGISTRATION_SUBMITTED_V1,
  type RegistrationRules,
} from '@gelombang/contracts';
import {
  counter,
  histogram,
  deadLetterTo,
  connectInfrastructure,
  createServer,
  PiiCipher,
  RATE_LIMITED,
  startConsumer,
  TokenBucket,
  type App,
  type BucketSpec,
  type Decision,
  type RunningConsumer,
} from '@gelombang/platform';
import type { IntakeConfig } from './config';
import { trustProxySetting } from './config';
import { ClaimsColdError, ClaimsStore, PendingCompletions, type ClaimInput } from './data-access/claims-store';
import type { AdmittedClaim } from './domain/register';
import { RegistrationsRepository } from './data-access/registrations-repository';
import { registrationRoutes } from './routes/registrations';
import { tokenBucketStore } from './rate-limit-store';
import { parseSubmitted, submittedHandler } from './consumers/registration-submitted.consumer';
import { parseStatusChanged, statusChangedHandler } from './consumers/registration-status-changed.consumer';
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
 * Builds the intake service: opens PostgreSQL (and migrates), Redis and Kafka, registers routes and
 * the projector consumers, and closes all of them in onClose. Never listens (server.ts does).
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
  const m = {
    accepted: counter(app.metrics, 'intake_registrations_accepted_total', 'Registrations answered 202 (new, not replays)'),
    rejected: counter(app.metrics, 'intake_registrations_rejected_total', 'Registrations refused, by code', ['code']),
    fallback: counter(app.metrics, 'intake_redis_fallback_total', 'Decisions taken without Redis (in-process buckets, PostgreSQL dedup)', ['use']),
    projected: counter(app.metrics, 'intake_projected_total', 'Submissions written to PostgreSQL, by outcome', ['outcome']),
    relayed: counter(app.metrics, 'intake_outbox_published_total', 'Outbox events published to Kafka'),
    // Where a registration's time goes on the server, for ops and for the load suite's reports (the
    // driver sees the total plus the network and the event-loop queue in front of the handler).
    phase: histogram(
      app.metrics,
      'intake_registration_phase_seconds',
      'POST /v1/registrations on the server, by phase: claim (admission and dedup, one Redis round trip), publish (until Kafka acknowledged), total (request read to answer sent); admission alone for requests refused before their claim',
      [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      ['phase'],
    ),
  };
  const timed = (phase: string) => {
    const h = m.phase.labels(phase);
    return async <T>(work: Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await work;
      } finally {
        h.observe((performance.now() - t0) / 1000);
      }
    };
  };
  const timeAdmission = timed('admission');
  const timeClaim = timed('claim');
  const timePublish = timed('publish');
  const totalTime = m.phase.labels('total');

  // Redis is not a readiness dependency: without it the service degrades, it does not stop. NIK
  // corrections commit their events to the outbox; every intake process relays (SKIP LOCKED shares the rows).
  const { pool, redis, kafka, producer, relay, close } = await connectInfrastructure(app, config, {
    service: 'intake',
    migrationsDir: MIGRATIONS_DIR,
    whenRedisDown: 'running on fallbacks',
    onPublished: (n) => m.relayed.inc(n),
  });
  const publish = (topic: string, key: string, value: string) => producer.publish({ topic, key, value, headers: { 'content-type': 'application/cloudevents+json' } });


  const cipher = new PiiCipher(config.PII_KEYS, config.PII_ACTIVE_KEY_ID, config.PII_INDEX_KEY);
  const repository = new RegistrationsRepository(pool);
  const claims = new ClaimsStore(redis, `${config.REDIS_KEY_PREFIX}intake:`, config.IDEMPOTENCY_TTL_SEC);

  const dryRun = dryRunPorts({ cipher }, () => redis.ping());

  const bucket = new TokenBucket(redis, {
    onFallback: () => m.fallback.inc({ use: 'rate_limit' }),
    onSourceChange: (source) =>
      source === 'local' ? app.log.warn('redis unavailable: rate limits now per process') : app.log.info('redis back: rate limits shared again'),
  });
  await app.register(rateLimit, {
    global: false,
    hook: 'onRequest',
    // The boot warm-up's in-process requests spend no admission tokens.
    allowList: (req) => isDryRun(req, dryRun),
    store: tokenBucketStore(bucket, {
      prefix: config.REDIS_KEY_PREFIX,
      client: { burst: config.RATE_LIMIT_CLIENT_BURST, perSec: config.RATE_LIMIT_CLIENT_PER_SEC },
      global: { burst: config.RATE_LIMIT_GLOBAL_BURST, perSec: config.RATE_LIMIT_GLOBAL_PER_SEC },
    }) as any,
    errorResponseBuilder: () => {
      m.rejected.inc({ code: 'RATE_LIMITED' });
      return RATE_LIMITED();
    },
  });

  // Redis keeps nothing on disk: after it restarts empty, the claims are rebuilt from PostgreSQL
  // (one replica, in the background); until then every claim asks PostgreSQL, as when Redis is down.
  let rebuilding: Promise<void> | undefined;
  const warmClaims = () =>
    (rebuilding ??= claims
      .rebuild(repository.activeClaims())
      .then((restored) => {
        if (restored) app.log.warn({ restored }, 'dedup claims rebuilt from PostgreSQL');
      })
      .catch((e: Error) => app.log.warn({ errName: e.name }, 'rebuilding dedup claims failed; PostgreSQL answers meanwhile'))
      .finally(() => {
        rebuilding = undefined;
      }));
  // A fresh Redis is warmed before the first request when that is quick; a reconnect (perhaps to a
  // Redis that restarted empty) checks again, as does any claim that finds the set incomplete.
  await Promise.race([warmClaims(), new Promise((r) => setTimeout(r, 2_000))]);
  redis.on('ready', () => {
    void warmClaims();
    incomplete.retrySoon();
  });

  const incomplete = new PendingCompletions(
    (i, masked) => claims.complete(i, masked),
    (e) => app.log.warn({ errName: e.name, pending: incomplete.size }, 'registrations stored by Kafka not yet completed in Redis; retrying'),
  );
  // A registration's admission: the client's bucket (its address, as @fastify/rate-limit keys the other
  // routes) and the global one. Same keys as the plugin's store, so both count in the same buckets.
  const admissionBuckets = (client: string): [BucketSpec, BucketSpec] => [
    { key: `${config.REDIS_KEY_PREFIX}rl:client:${client}`, capacity: config.RATE_LIMIT_CLIENT_BURST, ratePerSec: config.RATE_LIMIT_CLIENT_PER_SEC },
    { key: `${config.REDIS_KEY_PREFIX}rl:global`, capacity: config.RATE_LIMIT_GLOBAL_BURST, ratePerSec: config.RATE_LIMIT_GLOBAL_PER_SEC },
  ];

  /**
   * Admission and claim in one Redis round trip. Without Redis, admission is decided in process memory
   * and the claim by PostgreSQL; with the claims cold (Redis restarted empty), by PostgreSQL too.
   */
  const claimWithFallback = async (input: ClaimInput, client: string): Promise<AdmittedClaim> => {
    const buckets = admissionBuckets(client);
    let cold = false;
    let admission: Decision;
    try {
      const answer = await claims.admitAndClaim(buckets, input);
      admission = bucket.fromRedis(answer.admission);
      return answer.claim ? { ...answer.claim, admission } : { kind: 'limited', admission };
    } catch (e) {
      cold = e instanceof ClaimsColdError;
      if (cold) {
        admission = bucket.fromRedis((e as ClaimsColdError).admission);
        void warmClaims();
      } else {
        admission = bucket.locally(buckets, e as Error);
        if (!admission.allowed) return { kind: 'limited', admission };
      }
    }
    // PostgreSQL is the truth; it only lacks what Kafka holds but the projector has not written yet,
    // and the unique index settles those later (rejected_duplicate).
    m.fallback.inc({ use: cold ? 'dedup_cold' : 'dedup' });
    const field = await repository.findActive(input.nikIndex, input.emailIndex);
    if (field) return { kind: 'duplicate', field, admission };
    // While cold, recorded at once (NX) so the rebuild's set includes it. Otherwise its completion,
    // after Kafka acknowledged, writes the claims (retried until Redis answers): never before, or a
    // failed publish would leave a claim that no retry of the same applicant could get past.
    if (cold) await claims.seed(input).catch(() => undefined);
    return { kind: 'claimed', registrationId: input.registrationId, admission };
  };

  const rules: RegistrationRules = {
    minAge: config.INTAKE_MIN_AGE,
    maxAge: config.INTAKE_MAX_AGE,
    today: opts.today ?? (() => calendarDateIn(new Date())),
  };
  registrationRoutes(app, {
    rules,
    repository,
    claims,
    retryAfterSec: config.RETRY_AFTER_SEC,
    rateLimit: { max: config.RATE_LIMIT_CLIENT_BURST, timeWindow: 1000 },
    admit: (client) => timeAdmission(bucket.take(admissionBuckets(client))),
    clientBurst: config.RATE_LIMIT_CLIENT_BURST,
    onRejected: (code) => m.rejected.inc({ code }),
    onAccepted: () => m.accepted.inc(),
    dryRun,
    correction: {
      cipher,
      repository,
      claimNik: (nikIndex, id) => claims.claimNik(nikIndex, id),
      releaseNik: (nikIndex, id) => claims.releaseNik(nikIndex, id),
      maxCorrections: config.INTAKE_MAX_NIK_CORRECTIONS,
      rules,
      onCommitted: () => relay.wake(),
    },
    ports: {
      cipher,
      claim: (i, client) => timeClaim(claimWithFallback(i, client)),
      complete: (i, masked) => claims.complete(i, masked).catch(() => incomplete.add(i, masked)),
      markUncertain: (i) => claims.markUncertain(i),
      publish: (topic, key, value) => timePublish(publish(topic, key, value)),
    },
    onAnswered: (ms) => totalTime.observe(ms / 1000),
  });

  const consumers: RunningConsumer[] = [];
  if (config.CONSUMER_ENABLED) {
    const deadLetter = (group: string) => deadLetterTo(producer, group);
    consumers.push(
      await startConsumer(kafka, {
        groupId: config.CONSUMER_GROUP,
        topics: [config.KAFKA_TOPIC_PREFIX + REGISTRATION_SUBMITTED_V1],
        logger: app.log as any,
        // During a surge: bigger batches, fewer PostgreSQL transactions and offset commits per
        // registration, at ≤ 100 ms more projection lag (GET answers from Redis until then).
        fetch: { minBytes: 256 * 1024, maxWaitMs: 100 },
        parse: parseSubmitted,
        handle: submittedHandler({
          repository,
          publish,
          onProjected: (inserted, duplicates) => {
            m.projected.inc({ outcome: 'inserted' }, inserted);
            m.projected.inc({ outcome: 'rejected_duplicate' }, duplicates);
          },
        }),
        deadLetter: deadLetter(config.CONSUMER_GROUP),
        startAt: opts.consumerStartAt ?? config.CONSUMER_START_AT,
      }),
      await startConsumer(kafka, {
        groupId: `${config.CONSUMER_GROUP}-status`,
        topics: [config.KAFKA_TOPIC_PREFIX + REGISTRATION_STATUS_CHANGED_V1],
        logger: app.log as any,
        parse: parseStatusChanged,
        handle: statusChangedHandler(repository),
        deadLetter: deadLetter(`${config.CONSUMER_GROUP}-status`),
        startAt: opts.consumerStartAt ?? config.CONSUMER_START_AT,
      }),
    );
    app.readiness.add('consumers', async () => {
      if (!consumers.every((c) => c.isRunning)) throw new Error('consumer stopped');
    });
  }

  // Stop consuming first (consumers publish too), then relay, producer and stores, in that order.
  app.addHook('onClose', () => {
    incomplete.stop();
    return close(consumers);
  });

  if (opts.warmUpRequests) {
    const warmed = await warmUp(app, dryRun, { requests: opts.warmUpRequests, today: rules.today() });
    app.log.info(warmed, 'request path warmed up (dry runs: nothing claimed, published or counted)');
  }
  return app;
}
