import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CLOUDEVENTS_CONTENT_TYPE } from '@gelombang/contracts';
import { deadLetterTo, withKafkaAdmin } from '@gelombang/platform';
import { KAFKA_BROKERS, testTopic, until, type TestTopic } from '@gelombang/testkit';
import { listDeadLetters, replayDeadLetters } from '@gelombang/ops';

interface ConsumerModule {
  openSealed(value: string, field: string, keys: Map<string, Buffer>): string | undefined;
  parseKeys(text: string): Map<string, Buffer>;
}
const consumer = createRequire(__filename)('../consumer.js') as ConsumerModule;

const GOLDEN = join(__dirname, '..', '..', '..', 'packages', 'contracts', 'test', 'golden');
const golden = (file: string) => JSON.parse(readFileSync(join(GOLDEN, file), 'utf8'));
const goldenKeys = golden('golden-keys.json') as { PII_KEYS: string };
const brokers = KAFKA_BROKERS.split(',');

/** A golden event as a new one (its own id), as the service that publishes it writes it. */
const fresh = (file: string) => ({ ...golden(file), id: randomUUID() });
const message = (event: { subject: string }) => ({ key: event.subject, value: JSON.stringify(event), headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE } });

describe('examples/partner-consumer — the CloudEvents SDK over kafkajs, on the real broker', () => {
  let t: TestTopic;
  let proc: ChildProcess;
  const group = `partner.test-${randomUUID()}`;
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';

  beforeAll(async () => {
    t = await testTopic('partner', 3);
    proc = spawn(process.execPath, [join(__dirname, '..', 'consumer.js')], {
      env: { PATH: process.env.PATH ?? '', KAFKA_BROKERS, PARTNER_GROUP: group, PARTNER_TOPICS: t.topic, PARTNER_PII_KEYS: goldenKeys.PII_KEYS },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
        lines.push(JSON.parse(out.slice(0, i)) as Record<string, unknown>);
        out = out.slice(i + 1);
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await until(() => stderr.includes('consuming'), 30_000, 'the consumer to start');
  });

  afterAll(async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    // The partner's group is this test's: it leaves nothing behind on the broker.
    await withKafkaAdmin(t.kafka, (admin) => admin.deleteGroups([group])).catch(() => undefined);
    await t.close();
  });

  it('reads each event once (a redelivery is skipped by its id), opens the sealed fields it holds the key to, and skips what is no CloudEvent', async () => {
    const submitted = fresh('registration.submitted.v1/1-ordinary.json');
    const status = fresh('registration.status-changed.v1/2-reason-and-attempt.json');
    await t.producer.publish({ topic: t.topic, ...message(submitted) });
    await t.producer.publish({ topic: t.topic, ...message(submitted) }); // delivered again (at least once)
    await t.producer.publish({ topic: t.topic, ...message(status) });
    await t.producer.publish({ topic: t.topic, key: status.subject, value: '{"not":"an event"}' });
    await until(() => lines.length >= 2 && stderr.includes('is not a CloudEvent'), 30_000, 'two events and one refusal');
    expect(lines.map((l) => [l.id, l.type, l.subject, l.replayed, l.opened])).toEqual([
      [submitted.id, submitted.type, submitted.subject, false, ['nik', 'email', 'phone', 'fullName', 'birthDate']],
      [status.id, status.type, status.subject, false, []],
    ]);
    expect(JSON.stringify(lines)).not.toContain('Budi');
  });

  it('reads a replayed dead letter as the CloudEvent it was (the original headers came back with it)', async () => {
    const event = fresh('nik.verification-requested.v1/1-first-attempt.json');
    const startedAt = new Date(Date.now() - 1_000);
    const failedGroup = `partner-test-service-${randomUUID()}`;
    // A service's consumer dead-letters it, headers and all; the operator replays it once fixed.
    await deadLetterTo(t.producer, failedGroup)(
      { topic: t.topic, partition: 0, offset: '5', ...message(event) },
      'sealed with a key this service does not hold',
    );
    const letters = await listDeadLetters(brokers, { consumerGroup: failedGroup, since: startedAt });
    expect(letters).toHaveLength(1);
    const seen = lines.length;
    await replayDeadLetters(brokers, letters);
    await until(() => lines.length > seen, 30_000, 'the replayed event');
    expect(lines.slice(seen)).toEqual([
      expect.objectContaining({ id: event.id, type: 'id.gelombang.nik.verification-requested.v1', replayed: true, opened: ['nik', 'fullName', 'birthDate'] }),
    ]);
  });

  it('opens a sealed value only with its key and field name (AES-256-GCM, the field as AAD)', () => {
    const { data } = golden('registration.submitted.v1/1-ordinary.json') as { data: { pii: Record<string, string> } };
    const keys = consumer.parseKeys(goldenKeys.PII_KEYS);
    expect(consumer.openSealed(data.pii.nik!, 'nik', keys)).toBe('3204110609970001');
    expect(consumer.openSealed(data.pii.nik!, 'nik', consumer.parseKeys(`other:${Buffer.alloc(32, 1).toString('base64')}`))).toBeUndefined();
    expect(() => consumer.openSealed(data.pii.nik!, 'email', keys)).toThrow();
  });

  it('matches what the documented kcat command shows (key, content-type header, the envelope)', () => {
    let out: string;
    try {
      out = execFileSync('kcat', ['-b', brokers[0]!, '-C', '-t', t.topic, '-o', 'beginning', '-e', '-q', '-f', '%k\t%h\t%s\n'], { encoding: 'utf8' });
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') throw new Error('kcat is missing: apt-get install kcat (.ci/run does)', { cause: e });
      throw e;
    }
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    expect(rows.filter((r) => r[1] === `content-type=${CLOUDEVENTS_CONTENT_TYPE}`).length).toBeGreaterThanOrEqual(3);
    expect(rows.every((r) => r[0]!.length > 0)).toBe(true);
  });
});
