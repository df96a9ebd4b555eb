import { randomBytes, randomUUID } from 'node:crypto';
import { DEADLETTER_V1, REGISTRATION_SUBMITTED_V1 } from '@gelombang/contracts';
import { readTopic } from '@gelombang/platform';
import { newKafka } from '../../loadtests/src/kafka';
import { runScenario } from './harness/scenario';

/*
 * Poison pills that pass the event schema but fail in PostgreSQL (issue #14), put on
 * registration.submitted.v1 in the middle of the load as a buggy producer would: a CloudEvents id
 * that is no UUID (the projector stores it in a uuid column) and a NUL character in a text field
 * (PostgreSQL's text refuses it). Each is a copy of a real event with a new registrationId and blind
 * indexes, so only the poison differs. The partition must not stall: every registration after them is
 * projected and mailed, and the pills end on deadletter.v1.
 */
describe('poison pills that pass the schema and fail in the database', () => {
  it('a non-UUID event id and a NUL character: dead-lettered, the partition goes on', async () => {
    const pills: string[] = [];
    await runScenario({
      name: 'poison-pill',
      faultSec: Number(process.env.CHAOS_POISON_SEC ?? 10),
      funnel: { quota: 1_000_000 },
      fault: async (c) => {
        const kafka = newKafka(c.kafka.brokers, 'chaos-poison');
        let sample: { key: string | null; value: string; headers: Record<string, string> } | undefined;
        await readTopic(kafka, REGISTRATION_SUBMITTED_V1, { from: 'start', timeoutMs: 10_000 }, (m) => (sample ??= m));
        if (!sample) throw new Error('no registration event to copy');
        const original = JSON.parse(sample.value) as { id: string; subject: string; data: Record<string, unknown> & { blindIndex: object; emailMasked: string } };
        const pill = (poison: (e: typeof original) => void) => {
          const e = structuredClone(original);
          const registrationId = randomUUID();
          e.id = randomUUID();
          e.subject = registrationId;
          e.data.registrationId = registrationId;
          e.data.blindIndex = { nik: randomBytes(32).toString('hex'), email: randomBytes(32).toString('hex') };
          poison(e);
          pills.push(registrationId);
          return { key: registrationId, value: JSON.stringify(e), headers: sample!.headers };
        };
        const producer = kafka.producer();
        await producer.connect();
        await producer.send({
          topic: REGISTRATION_SUBMITTED_V1,
          messages: [pill((e) => (e.id = 'not-a-uuid')), pill((e) => (e.data.emailMasked = `b\u0000***@example.co.id`))],
        });
        await producer.disconnect();
        return async () => undefined;
      },
      after: async (c) => {
        const dead: string[] = [];
        await readTopic(newKafka(c.kafka.brokers, 'chaos-poison'), DEADLETTER_V1, { from: 'start', timeoutMs: 15_000 }, (m) => dead.push(m.value));
        for (const id of pills) expect(dead.some((v) => v.includes(id))).toBe(true);
      },
    });
  });
});
