import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEADLETTER_V1, REGISTRATION_SUBMITTED_V1 } from '@gelombang/contracts';
import { readTopic } from '@gelombang/platform';
import { call } from '../../loadtests/src/cluster';
import { newKafka } from '../../loadtests/src/kafka';
import { SERVICES, type Cluster, type ServiceName } from './harness/cluster';
import { runScenario, world } from './harness/scenario';

/*
 * Faults of our own processes and of the partners (issue #14), each under the whole funnel in one
 * world (each scenario with its own people and batch):
 * - consumer SIGKILL mid-drain: each consumer frozen (SIGSTOP) while its backlog grows, thawed, and
 *   SIGKILLed while it drains — no flush, no commit, no lease released — then started again. The
 *   registry answers slowly meanwhile, so the NIK checker dies with calls in flight;
 * - the registry at 50 % errors and slow (through the stand-in's fault knob; REGISTRY_TIMEOUT_MS is
 *   2 s, the latency 1.5 s), so the checker retries without calling twice for an answered attempt;
 * - SIGTERM of every service in turn (a rolling restart): in-flight requests are finished, a reset is a
 *   breach, a refused connection once a process is gone is the balancer's to route around;
 * - poison pills put on registration.submitted.v1 as a buggy producer would: a CloudEvents id that is
 *   no UUID (stored in a uuid column) and a NUL character (refused by text) — both passed the event
 *   schema and failed in PostgreSQL until the envelope refused them (h-platform) — and a blind index
 *   too large for its btree index, which still passes the schema and fails in the database. They must
 *   end on deadletter.v1 and the partition must go on.
 */
const CONSUMERS: ServiceName[] = ['intake-projector', 'email', 'nik-verification', 'enrollment'];
const DOWN_MS = Number(process.env.CHAOS_CONSUMER_DOWN_MS ?? 3_000);
const DRAIN_MS = Number(process.env.CHAOS_CONSUMER_DRAIN_MS ?? 1_000);

async function registryFaults(c: Cluster, body: object): Promise<void> {
  const a = await call('POST', `${c.svc['registry-sim'].url}/_sim/faults`, body);
  if (a.status !== 200) throw new Error(`registry faults: ${a.status}`);
}

describe('our processes and the registry failing under the funnel', () => {
  const cluster = world({ name: 'services' });

  it('consumer SIGKILL mid-drain (projector, email, NIK, enrollment): no loss, no second mail, registry call or seat', async () => {
    await runScenario(cluster(), {
      name: 'consumer-sigkill-mid-drain',
      faultSec: 0,
      loadSec: 60,
      funnel: { quota: 1_000_000 },
      fault: async (c) => {
        await registryFaults(c, { latencyMs: 400 });
        for (const name of CONSUMERS) {
          const s = c.svc[name];
          // Its backlog grows while it is frozen (not long enough for its group to drop it), it drains
          // it when thawed, and dies in the middle: no commit, no flush, no lease released.
          s.pause();
          await sleep(DOWN_MS);
          s.resume();
          await sleep(DRAIN_MS);
          await s.kill('SIGKILL');
          await s.start();
        }
        return () => registryFaults(c, { latencyMs: null });
      },
      // The email and enrollment APIs share their consumers' processes: their requests meet the kill itself.
      check: { unansweredAllowed: ['confirm', 'enroll'], recoveryOp: 'enroll' },
    });
  });

  it('registry at 50 % errors and slow: every applicant verified once, none over quota', async () => {
    await runScenario(cluster(), {
      name: 'registry-errors-slow',
      faultSec: Number(process.env.CHAOS_REGISTRY_FAULT_SEC ?? 20),
      // Fewer seats than applicants: the last ones are told the batch is full, none gets a seat beyond it.
      funnel: { quota: 500 },
      fault: async (c) => {
        await registryFaults(c, { errorRate: 0.5, latencyMs: Number(process.env.CHAOS_REGISTRY_LATENCY_MS ?? 1_500) });
        return () => registryFaults(c, { errorRate: 0, latencyMs: null });
      },
      check: { recoveryOp: 'enroll' },
    });
  });

  it('SIGTERM of every service in turn: in-flight requests answered, nothing lost or doubled', async () => {
    await runScenario(cluster(), {
      name: 'sigterm-rolling',
      faultSec: 0,
      loadSec: 30,
      funnel: { quota: 700 },
      fault: async (c) => {
        for (const name of SERVICES) {
          await c.svc[name].kill('SIGTERM');
          await c.svc[name].start();
          await sleep(500);
        }
        return async () => undefined;
      },
      check: { refusedConnectionAllowed: ['register', 'confirm', 'enroll'], recoveryOp: 'enroll' },
    });
  });

  it('poison pills (a non-UUID event id, a NUL character, an oversized index value): dead-lettered, the partition goes on', async () => {
    const pills: string[] = [];
    await runScenario(cluster(), {
      name: 'poison-pill',
      faultSec: Number(process.env.CHAOS_POISON_SEC ?? 10),
      funnel: { quota: 1_000_000 },
      fault: async (c) => {
        const kafka = newKafka(c.kafka.brokers, 'chaos-poison');
        let sample: { value: string; headers: Record<string, string> } | undefined;
        await readTopic(kafka, REGISTRATION_SUBMITTED_V1, { from: 'start', timeoutMs: 10_000 }, (m) => (sample ??= m));
        if (!sample) throw new Error('no registration event to copy');
        const original = JSON.parse(sample.value) as { id: string; subject: string; data: Record<string, unknown> };
        // A copy of a real event with a registrationId and blind indexes of its own: only the poison differs.
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
          messages: [
            pill((e) => (e.id = 'not-a-uuid')),
            pill((e) => (e.data.emailMasked = 'b\u0000***@example.co.id')),
            // Passes even the tightened envelope: a blind index larger than a btree entry may be (2704 bytes).
            pill((e) => (e.data.blindIndex = { nik: randomBytes(6000).toString('base64url'), email: randomBytes(32).toString('hex') })),
          ],
        });
        await producer.disconnect();
        return async () => undefined;
      },
      after: async (c) => {
        const dead: string[] = [];
        await readTopic(newKafka(c.kafka.brokers, 'chaos-poison'), DEADLETTER_V1, { from: 'start', timeoutMs: 15_000 }, (m) => void dead.push(m.value));
        for (const id of pills) expect({ id, deadLettered: dead.some((v) => v.includes(id)) }).toEqual({ id, deadLettered: true });
      },
    });
  });
});
