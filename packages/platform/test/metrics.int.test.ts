import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineEvent, eventBuilder } from '@gelombang/contracts';
import { dropSchema, isolatedEnv, startPrivateRedis, testTopic, until, waitFor, type TestTopic } from '@gelombang/testkit';
import {
  baseEnv,
  consumersPlugin,
  createRedis,
  createServer,
  enqueueEvents,
  eventConsumer,
  kafkaPlugin,
  loadConfig,
  outboxPlugin,
  postgresPlugin,
  redisPlugin,
  TokenBucket,
  type App,
} from '@gelombang/platform';

/** Every sample of `name` whose labels include `labels`, summed (0 when none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    if (Object.entries(labels).every(([k, v]) => m[1]!.includes(`${k}="${v}"`))) sum += Number(m[2]);
  }
  return sum;
}

describe('metrics every service exposes, through /metrics over HTTP (real PostgreSQL, Redis and Kafka)', () => {
  const env = isolatedEnv('metrics');
  const config = { ...loadConfig(z.object({ ...baseEnv }), env), PG_SCHEMA: env.PG_SCHEMA };
  const migrationsDir = mkdtempSync(join(tmpdir(), 'metrics-test-'));
  const group = `metrics-test-${env.PG_SCHEMA}`;
  let t: TestTopic;
  let app: App;
  let url: string;
  const handled: unknown[] = [];
  const pinged = () => defineEvent(t.topic, 'id.gelombang.test.pinged.v1', z.object({ registrationId: z.uuid(), n: z.number().int() }));
  const events = eventBuilder('urn:gelombang:metrics-test');

  beforeAll(async () => {
    t = await testTopic('metrics', 2);
    app = await createServer({ service: 'metrics-test', logLevel: 'silent', bodyLimit: 1024 });
    await app.register(postgresPlugin, { config, migrationsDir });
    await app.register(redisPlugin, { config, whenDown: 'the test fails' });
    await app.register(kafkaPlugin, { config });
    await app.register(outboxPlugin, {});
    const bucket = new TokenBucket(app.redis);
    app.get('/v1/things/:id', async (req, reply) => {
      const d = await bucket.take([{ key: `${env.REDIS_KEY_PREFIX}rl:things:${req.ip}`, capacity: 2, ratePerSec: 0.001 }]);
      return d.allowed ? { id: (req.params as { id: string }).id } : reply.code(429).send({ code: 'RATE_LIMITED' });
    });
    app.post('/v1/pings', async (_req, reply) => {
      await app.producer.publish(events.message(pinged(), { registrationId: randomUUID(), n: 1 }));
      return reply.code(202).send({});
    });
    await app.register(consumersPlugin, {
      consumers: [
        eventConsumer(pinged(), {
          group,
          handle: async (events) => void handled.push(...events),
          accept: (e) => {
            if (e.data.n < 0) throw new Error('negative pings are refused');
          },
        }),
      ],
      readiness: 'consumers',
      startAt: 'end',
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await app?.close();
    await t.close();
    await dropSchema(env.PG_SCHEMA);
    rmSync(migrationsDir, { recursive: true, force: true });
  });

  const scrape = async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it('counts and times every request by method, route template and status, unmatched paths as one route', async () => {
    for (const id of ['a', 'b', 'c']) await fetch(`${url}/v1/things/${id}`);
    await fetch(`${url}/no/such/${randomUUID()}`);
    // The intake's in-process warm-up is not traffic: not counted.
    await app.inject({ url: `/no/such/${randomUUID()}`, headers: { 'x-gelombang-warm-up': 'token' } });
    const text = await scrape();
    const h = 'http_request_duration_seconds_count';
    expect(sample(text, h, { method: 'GET', route: '/v1/things/:id', status_code: '200' })).toBe(2);
    expect(sample(text, h, { method: 'GET', route: '/v1/things/:id', status_code: '429' })).toBe(1);
    expect(sample(text, h, { route: 'unmatched', status_code: '404' })).toBe(1);
    expect(text).toMatch(
      /^http_request_duration_seconds_bucket\{le="10",service="metrics-test",method="GET",route="\/v1\/things\/:id",status_code="200"\} 2$/m,
    );
    // The same three requests, as the token bucket decided them: the address is not a label.
    const bucket = `${env.REDIS_KEY_PREFIX}rl:things`;
    expect(sample(text, 'token_bucket_decisions_total', { bucket, decision: 'admitted' })).toBe(2);
    expect(sample(text, 'token_bucket_decisions_total', { bucket, decision: 'refused' })).toBe(1);
    expect(sample(text, 'token_bucket_capacity', { bucket })).toBe(2);
    expect(text).toContain(`token_bucket_local_decisions_total{bucket="${bucket}",service="metrics-test"} 0`);
    expect(text).not.toContain('127.0.0.1"');
  });

  it('counts published events by topic, produce requests as a counter, and the outbox backlog', async () => {
    expect((await fetch(`${url}/v1/pings`, { method: 'POST' })).status).toBe(202);
    // An outbox row, published by the relay once woken.
    await enqueueEvents(app.pg, [events.message(pinged(), { registrationId: randomUUID(), n: 2 })]);
    const text = await scrape();
    expect(sample(text, 'kafka_messages_published_total', { topic: t.topic })).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^# TYPE kafka_produce_requests_total counter$/m);
    expect(sample(text, 'kafka_produce_requests_total')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^outbox_pending_rows\{service="metrics-test"\} \d+$/m);
    expect(text).toMatch(/^outbox_oldest_pending_seconds\{service="metrics-test"\} [\d.e+-]+$/m);
    app.outbox.wake();
    await waitFor(async () => (sample(await scrape(), 'outbox_pending_rows') === 0 ? true : undefined), 20_000, 'the outbox drained');
  });

  it('times handling by topic and group, counts dead letters by group and kind, and shows the group’s lag per partition', async () => {
    const before = await scrape();
    const dl = (kind: string, text: string) => sample(text, 'consumer_dead_letters_total', { group, topic: t.topic, kind });
    const good = {
      specversion: '1.0',
      id: randomUUID(),
      source: 'urn:test',
      type: 'id.gelombang.test.pinged.v1',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
    };
    const registrationId = randomUUID();
    const publish = (value: string) => t.producer.publish({ topic: t.topic, key: registrationId, value });
    await publish(JSON.stringify({ ...good, subject: registrationId, data: { registrationId, n: 1 } }));
    await publish('not json');
    await publish(JSON.stringify({ ...good, subject: registrationId, data: { registrationId } }));
    await publish(JSON.stringify({ ...good, subject: registrationId, data: { registrationId, n: -1 } }));
    await until(() => handled.length >= 3, 30_000, 'the good pings handled');
    const text = await waitFor(
      async () => {
        const s = await scrape();
        return dl('refused', s) > dl('refused', before) ? s : undefined;
      },
      30_000,
      'the dead letters counted',
    );
    expect(['not_json', 'invalid', 'refused'].map((k) => dl(k, text) - dl(k, before))).toEqual([1, 1, 1]);
    expect(sample(text, 'consumer_handle_duration_seconds_count', { topic: t.topic, group })).toBeGreaterThanOrEqual(1);
    // Committed to the end of both partitions: no lag, and a sample for each of them.
    const lag = await waitFor(
      async () => {
        const s = await scrape();
        return sample(s, 'kafka_consumergroup_lag', { group }) === 0 ? s : undefined;
      },
      30_000,
      'lag 0',
    );
    expect(lag.match(new RegExp(`^kafka_consumergroup_lag\\{group="${group}",topic="${t.topic.replace(/\./g, '\\.')}",partition="[01]"`, 'gm'))).toHaveLength(
      2,
    );
  });

  it('counts the decisions a bucket takes without Redis, by bucket (what RedisUnavailable reads)', async () => {
    const redis = await startPrivateRedis();
    const client = createRedis({ url: redis.url, commandTimeoutMs: 200, name: 'metrics-test' });
    try {
      const bucket = new TokenBucket(client);
      const spec = { key: `${env.REDIS_KEY_PREFIX}email:mail-provider`, capacity: 5, ratePerSec: 1 };
      const local = async () => sample(await scrape(), 'token_bucket_local_decisions_total', { bucket: spec.key });
      await until(() => client.status === 'ready', 10_000, 'the private Redis');
      expect((await bucket.take([spec])).source).toBe('redis');
      expect(await local()).toBe(0);
      await redis.stop();
      expect((await bucket.take([spec])).source).toBe('local');
      expect((await bucket.take([spec])).source).toBe('local');
      expect(await local()).toBe(2);
      expect(sample(await scrape(), 'token_bucket_decisions_total', { bucket: spec.key, decision: 'admitted' })).toBe(3);
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });

  it('is clean for `promtool check metrics` (names, types, units, help)', async () => {
    const text = await scrape();
    let out: string;
    try {
      out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as { code?: string; stdout?: string; stderr?: string };
      if (err.code === 'ENOENT') throw new Error('promtool is missing: apt-get install prometheus (.ci/run does)', { cause: e });
      throw new Error(`promtool check metrics failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`, { cause: e });
    }
    expect(out).toBe('');
  });
});
