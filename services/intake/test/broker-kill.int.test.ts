import { startPrivateKafka, type PrivateKafka } from '@gelombang/testkit';
import type { App } from '@gelombang/platform';
import { buildTestApp, dropSchema, person, testEnv, type TestEnv } from './helpers/build-test-app';

/*
 * A broker SIGKILLed under a connected producer: kafkajs reports no disconnect, so readiness stayed 200
 * and every POST waited out KAFKA_ACK_TIMEOUT_MS for its 503. Now the broker watch finds it down within
 * a few seconds: readiness 503, POST refused at once with Retry-After; both recover when it is back.
 * The broker is a private one (infra/scripts/kafka.sh on a free port), killed and restarted here.
 */
describe('intake when its Kafka broker is SIGKILLed (private broker)', () => {
  let kafka: PrivateKafka;
  let t: TestEnv;
  let app: App;
  // Long on purpose: an answer that waited for the ack instead of the watch would take this long.
  const ACK_TIMEOUT_MS = 30_000;

  beforeAll(async () => {
    kafka = await startPrivateKafka();
    t = testEnv({
      KAFKA_BROKERS: kafka.brokers.join(','),
      KAFKA_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
      CONSUMER_ENABLED: 'false',
      INTAKE_WARMUP_REQUESTS: '0',
    });
    app = await buildTestApp(t);
  }, 240_000);
  afterAll(async () => {
    await app?.close();
    await kafka?.destroy();
    if (t) await dropSchema(t.schema);
  }, 120_000);

  const ready = async () => {
    const r = await app.inject('/health/ready');
    return { status: r.statusCode, body: r.json<{ status: string; checks: Record<string, string> }>() };
  };
  const until = async <T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<{ value: T; afterMs: number }> => {
    const t0 = Date.now();
    for (;;) {
      const value = await probe();
      if (ok(value) || Date.now() - t0 > ms) return { value, afterMs: Date.now() - t0 };
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('readiness turns 503 within seconds, POST answers 503 + Retry-After without waiting for the ack timeout, and both recover after a restart', async () => {
    expect((await app.inject({ method: 'POST', url: '/v1/registrations', payload: person() })).statusCode).toBe(202);
    expect(await ready()).toMatchObject({ status: 200, body: { checks: { kafka: 'ok' } } });

    kafka.kill();
    const down = await until(ready, (r) => r.status === 503, 20_000);
    expect(down.value).toEqual({ status: 503, body: { status: 'unavailable', checks: expect.objectContaining({ kafka: 'fail: KafkaUnavailable' }) } });

    const t0 = Date.now();
    const refused = await app.inject({ method: 'POST', url: '/v1/registrations', payload: person(), headers: { 'accept-language': 'en' } });
    const tookMs = Date.now() - t0;
    expect({ status: refused.statusCode, retryAfter: refused.headers['retry-after'], code: refused.json<{ code: string }>().code }).toEqual({
      status: 503,
      retryAfter: '5',
      code: 'SERVICE_UNAVAILABLE',
    });
    expect(tookMs).toBeLessThan(ACK_TIMEOUT_MS); // it did not wait for an acknowledgement that could not come

    await kafka.start();
    const up = await until(ready, (r) => r.status === 200, 60_000);
    expect(up.value).toMatchObject({ status: 200, body: { checks: { kafka: 'ok' } } });
    const again = await until(
      async () => (await app.inject({ method: 'POST', url: '/v1/registrations', payload: person() })).statusCode,
      (s) => s === 202,
      30_000,
    );
    expect(again.value).toBe(202);
    console.log(
      `broker SIGKILL: readiness 503 after ${down.afterMs} ms, POST refused in ${tookMs} ms, ready again ${up.afterMs} ms after the restart returned`,
    );
  }, 240_000);
});
