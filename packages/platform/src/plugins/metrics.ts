import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { withKafkaAdmin } from '../topics';
import type { EventProducer, Kafka, ConsumedMessage } from '../kafka';
import { waitAtMost } from '../timing';
import { bucketFamily, counter, histogram, observeBucketDecisions, scrapedGauge } from '../metrics';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}

/** Request durations: from 1 ms (the intake's p99 under load) to 10 s (a request that waited on a datastore). */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The intake's in-process warm-up (decision 0011) sends requests with this header through inject: not traffic. */
const WARM_UP_HEADER = 'x-gelombang-warm-up';

/**
 * The service's Prometheus registry (every sample labelled with the service) and `/metrics`, with what
 * every service measures the same way: RED per route (`http_request_duration_seconds`, its `_count` the
 * requests, by method, route template and status) and the decisions of every token bucket of the
 * process, by bucket (docs/decisions/0022).
 */
export const metricsPlugin = fp<{ service: string }>(
  async (app, opts) => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: opts.service });
    collectDefaultMetrics({ register: registry });
    // prom-client's gauges named like counters (promtool refuses them); their per-type twins stay.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
    app.decorate('metrics', registry);
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
    httpMetrics(app, registry);
    app.addHook('onClose', tokenBucketMetrics(registry));
  },
  { name: 'gelombang-metrics', fastify: '5.x' },
);

function httpMetrics(app: FastifyInstance, registry: Registry): void {
  const duration = histogram(
    registry,
    'http_request_duration_seconds',
    'HTTP requests answered, by method, route template (unmatched for no route) and status code: from the request read to the answer sent',
    HTTP_BUCKETS,
    ['method', 'route', 'status_code'],
  );
  // One child per label set, looked up once: the hot path pays a map read and an observe.
  const children = new Map<string, ReturnType<typeof duration.labels>>();
  app.addHook('onResponse', (req, reply, done) => {
    if (req.headers[WARM_UP_HEADER] !== undefined && '_lightMyRequest' in req.raw) return done();
    const route = req.routeOptions.url ?? 'unmatched';
    const key = `${req.method} ${route} ${reply.statusCode}`;
    let child = children.get(key);
    if (!child) {
      child = duration.labels(req.method, route, String(reply.statusCode));
      children.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });
}

function tokenBucketMetrics(registry: Registry): () => void {
  const decisions = counter(registry, 'token_bucket_decisions_total', 'Token-bucket decisions by bucket: admitted or refused', ['bucket', 'decision']);
  const rate = new Map<string, { rate: number; capacity: number }>();
  scrapedGauge(
    registry,
    'token_bucket_rate_per_second',
    'A bucket’s configured refill (the quota): admitted per second over this is impossible',
    () => [...rate].map(([bucket, r]) => ({ labels: { bucket }, value: r.rate })),
    ['bucket'],
  );
  scrapedGauge(
    registry,
    'token_bucket_capacity',
    'A bucket’s configured burst',
    () => [...rate].map(([bucket, r]) => ({ labels: { bucket }, value: r.capacity })),
    ['bucket'],
  );
  const local = counter(
    registry,
    'token_bucket_local_decisions_total',
    'Decisions taken in process memory because Redis failed (limits are then per process), by bucket',
    ['bucket'],
  );
  return observeBucketDecisions((specs, allowed, source) => {
    // A decision over several buckets (a client's and the global one) counts for each of them.
    for (const s of specs) {
      const bucket = bucketFamily(s.key);
      if (!rate.has(bucket)) {
        rate.set(bucket, { rate: s.ratePerSec, capacity: s.capacity });
        // Both series from the first decision on, so "refused" reads 0 rather than nothing.
        for (const decision of ['admitted', 'refused']) decisions.inc({ bucket, decision }, 0);
        local.inc({ bucket }, 0);
      }
      if (source === 'local') local.inc({ bucket });
      decisions.inc({ bucket, decision: allowed ? 'admitted' : 'refused' });
    }
  });
}

/** Why a message was dead-lettered, in few words (the reason itself is free text, on deadletter.v1). */
const DEAD_LETTER_KINDS = ['not_json', 'invalid', 'refused', 'handler_failed'] as const;
export type DeadLetterKind = (typeof DEAD_LETTER_KINDS)[number];

/**
 * A consumer's metrics, wrapped around its `parse`, `handle` and dead-letter functions: handler
 * duration by topic and group (`consumer_handle_duration_seconds`, per batch) and dead letters by
 * group and kind (`consumer_dead_letters_total`). A message whose parse threw is `not_json`,
 * `invalid` (its schema refused it) or `refused` (the consumer's own check); one dead-lettered
 * anywhere else (after its handler failed) is `handler_failed`.
 */
export function instrumentConsumer<T, C extends { group: string; topic: string; parse: (m: ConsumedMessage) => T; handle: (items: T[]) => Promise<void> }>(
  registry: Registry,
  c: C,
): C & { deadLettered: (msg: ConsumedMessage) => void } {
  const handleSeconds = histogram(
    registry,
    'consumer_handle_duration_seconds',
    'Time a consumer group took to handle one batch of a partition (retries included), by topic and group',
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ['topic', 'group'],
  );
  const deadLetters = counter(registry, 'consumer_dead_letters_total', 'Messages a consumer group dead-lettered, by group, topic and kind', [
    'group',
    'topic',
    'kind',
  ]);
  // Every kind from the start: "no dead letters" is a 0, and an alert on its increase sees the first one.
  for (const kind of DEAD_LETTER_KINDS) deadLetters.inc({ group: c.group, topic: c.topic, kind }, 0);
  const failedParse = new Map<string, DeadLetterKind>();
  const at = (m: ConsumedMessage) => `${m.topic}:${m.partition}:${m.offset}`;
  return {
    ...c,
    parse: (msg) => {
      try {
        return c.parse(msg);
      } catch (e) {
        const name = (e as Error).name;
        failedParse.set(at(msg), name === 'SyntaxError' ? 'not_json' : name === 'ZodError' ? 'invalid' : 'refused');
        throw e;
      }
    },
    handle: async (items) => {
      const end = handleSeconds.startTimer({ topic: c.topic, group: c.group });
      try {
        await c.handle(items);
      } finally {
        end();
      }
    },
    deadLettered: (msg) => {
      const kind = failedParse.get(at(msg)) ?? 'handler_failed';
      failedParse.delete(at(msg));
      deadLetters.inc({ group: c.group, topic: c.topic, kind });
    },
  };
}

/**
 * `kafka_consumergroup_lag` (the name Kafka exporters and Strimzi's dashboards use): per group, topic
 * and partition, the broker's high watermark minus what the group committed (all of it when the group
 * never committed), read from the broker when Prometheus scrapes. A scrape that cannot reach the
 * broker within 3 s shows no lag samples (not stale ones).
 */
export function consumerLagMetrics(registry: Registry, kafka: Kafka, groups: Array<{ group: string; topic: string }>): void {
  scrapedGauge(
    registry,
    'kafka_consumergroup_lag',
    'Messages not yet committed by a consumer group, by group, topic and partition',
    async () => {
      const read = withKafkaAdmin(kafka, async (admin) => {
        const samples = [];
        for (const { group, topic } of groups) {
          const [ends, committed] = await Promise.all([admin.ends(topic), admin.committed(group, topic)]);
          const done = new Map(committed.map((p) => [p.partition, p.offset]));
          for (const p of ends) {
            const lag = p.high - (done.get(p.partition) ?? p.low);
            samples.push({ labels: { group, topic, partition: String(p.partition) }, value: Number(lag < 0n ? 0n : lag) });
          }
        }
        return samples;
      });
      read.catch(() => undefined);
      if (!(await waitAtMost(read, 3_000))) throw new Error('broker did not answer in time');
      return read;
    },
    ['group', 'topic', 'partition'],
  );
}

/** `outbox_pending_rows` and the age of the oldest: what the relay has not published yet. */
export function outboxMetrics(registry: Registry, pool: pg.Pool): void {
  // Within 2 s or not at all: a scrape must not hang on a database that went away (the gauges then
  // have no samples, which the PostgresUnavailable alert reads).
  const read = async () => {
    const q = pool.query<{ n: string; age: number | null }>('SELECT count(*) AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age FROM outbox');
    q.catch(() => undefined);
    if (!(await waitAtMost(q, 2_000))) throw new Error('PostgreSQL did not answer in time');
    return (await q).rows[0]!;
  };
  scrapedGauge(registry, 'outbox_pending_rows', 'Outbox rows not yet published to Kafka', async () => [{ value: Number((await read()).n) }]);
  scrapedGauge(registry, 'outbox_oldest_pending_seconds', 'Age of the oldest unpublished outbox row (0 when none)', async () => [
    { value: (await read()).age ?? 0 },
  ]);
}

/** Which funnel stage an event on a topic stands for (README: the funnel, as events). */
const FUNNEL_STAGES: Record<string, string> = {
  'registration.submitted.v1': 'submitted',
  'email.verified.v1': 'email_verified',
  'nik.verified.v1': 'nik_verified',
  'nik.rejected.v1': 'nik_rejected',
  'enrollment.enrolled.v1': 'enrolled',
  'enrollment.withdrawn.v1': 'withdrawn',
};

/**
 * Counts what the producer published, once the broker acknowledged it: `kafka_messages_published_total`
 * by topic and `funnel_stage_total` by stage for the funnel's events. At-least-once: an outbox row
 * relayed again after a crash counts again (rare; the topics' offsets are the exact record).
 */
export function publishedMetrics(registry: Registry, producer: EventProducer): void {
  const published = counter(registry, 'kafka_messages_published_total', 'Messages the broker acknowledged, by topic', ['topic']);
  const funnel = counter(
    registry,
    'funnel_stage_total',
    'Registrations reaching a funnel stage (events published: submitted, email_verified, nik_verified, nik_rejected, enrolled, withdrawn)',
    ['stage'],
  );
  const publish = producer.publish.bind(producer);
  producer.publish = (msg) =>
    publish(msg).then(() => {
      published.inc({ topic: msg.topic });
      const stage = FUNNEL_STAGES[msg.topic];
      if (stage) funnel.inc({ stage });
    });
}
