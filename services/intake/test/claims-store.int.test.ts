import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_URL, uniqueId } from '@gelombang/testkit';
import { ClaimsColdError, ClaimsStore, type ClaimInput } from '../src/data-access/claims-store';
import { PendingCompletions } from '../src/domain/registration-claims';

/** A ClaimsStore on the real Redis under a prefix of its own; its keys are removed after the suite. */
function realRedisStore() {
  const prefix = `test:${uniqueId()}:intake:`;
  const redis = new Redis(REDIS_URL);
  const store = new ClaimsStore(redis, prefix, 60);
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });
  // Admission never in the way here: roomy buckets of the suite's own.
  const buckets = [
    { key: `${prefix}rl:client:test`, capacity: 1e6, ratePerSec: 1e6 },
    { key: `${prefix}rl:global`, capacity: 1e6, ratePerSec: 1e6 },
  ] as const;
  const claim = async (i: ClaimInput) => (await store.admitAndClaim(buckets, i)).claim!;
  return { prefix, redis, store, claim };
}

/** The claims' cold start on the real Redis: no marker → no claim; rebuilt from rows → warm. */
describe('ClaimsStore after Redis lost its data (real Redis)', () => {
  const { prefix, redis, store, claim: claimInput } = realRedisStore();
  const claim = (nikIndex: string, emailIndex: string) =>
    claimInput({ nikIndex, emailIndex, bodyHash: 'h', registrationId: randomUUID(), submittedAt: new Date().toISOString() });
  async function* pages(...batches: Array<Array<{ registrationId: string; nikIndex: string; emailIndex: string; matched: boolean }>>) {
    yield* batches;
  }

  it('claims nothing while the set is incomplete, and refuses what the rebuild restored once it is', async () => {
    await expect(claim('nik-a-0000000000000', 'email-a-00000000000')).rejects.toBeInstanceOf(ClaimsColdError);
    expect(await redis.exists(`${prefix}email:email-a-00000000000`, `${prefix}nikp:nik-a-0000000000000`)).toBe(0);

    // Another replica holds the rebuild lock: this one leaves it to them.
    await redis.set(`${prefix}claims:rebuilding`, '1', 'EX', 30);
    expect(await store.rebuild(pages([{ registrationId: randomUUID(), nikIndex: 'x', emailIndex: 'y', matched: false }]))).toBeUndefined();
    await redis.del(`${prefix}claims:rebuilding`);

    const a = randomUUID();
    await store.seed({ nikIndex: 'nik-c-0000000000000', emailIndex: 'email-c-00000000000', registrationId: a }); // taken through PostgreSQL meanwhile
    const restored = await store.rebuild(
      pages(
        [{ registrationId: randomUUID(), nikIndex: 'nik-a-0000000000000', emailIndex: 'email-a-00000000000', matched: true }],
        [
          { registrationId: randomUUID(), nikIndex: 'nik-b-0000000000000', emailIndex: 'email-b-00000000000', matched: false },
          { registrationId: randomUUID(), nikIndex: 'nik-c-0000000000000', emailIndex: 'email-c-00000000000', matched: false },
        ],
      ),
    );
    expect(restored).toBe(3);
    expect(await redis.get(`${prefix}email:email-c-00000000000`)).toBe(a); // NX: the claim taken meanwhile stays
    // Only a matched registration holds its NIK; a pending one's NIK may be named again.
    expect(await claim('nik-a-0000000000000', 'email-new-000000000')).toMatchObject({ kind: 'conflict', reason: 'NIK_HELD' });
    expect((await claim('nik-b-0000000000000', 'email-new-000000001')).kind).toBe('claimed');
    expect(await claim('nik-new-00000000000', 'email-b-00000000000')).toMatchObject({ kind: 'conflict', reason: 'EMAIL_REGISTERED' });
    expect((await claim('nik-new-00000000000', 'email-new-000000000')).kind).toBe('claimed');
    expect(await store.rebuild(pages())).toBe(0); // already complete: nothing to do
  });
});

describe('ClaimsStore.admitAndClaim with any number of admission buckets (real Redis)', () => {
  const { prefix, redis, store } = realRedisStore();
  const input = (n: string): ClaimInput => ({
    nikIndex: `nik-${n}`,
    emailIndex: `email-${n}`,
    bodyHash: '',
    registrationId: randomUUID(),
    submittedAt: new Date().toISOString(),
  });
  const bucket = (name: string, capacity: number) => ({ key: `${prefix}rl:${name}`, capacity, ratePerSec: 0.001 });

  it('admits through every bucket it is given, claims only when all admit, and spends none when one refuses', async () => {
    await redis.set(`${prefix}claims:v2:complete`, '1');
    const one = await store.admitAndClaim([bucket('only', 1)], input('a'));
    expect(one.claim?.kind).toBe('claimed');
    expect(one.admission[0]).toBe(1);
    const refused = await store.admitAndClaim([bucket('only', 1)], input('b'));
    expect(refused.claim).toBeUndefined();
    expect(await redis.exists(`${prefix}email:email-b`, `${prefix}nikp:nik-b`)).toBe(0);

    const three = [bucket('x', 5), bucket('y', 5), bucket('z', 1)];
    expect((await store.admitAndClaim(three, input('c'))).claim?.kind).toBe('claimed');
    const third = await store.admitAndClaim(three, input('d')); // z is empty
    expect(third.claim).toBeUndefined();
    expect(await redis.exists(`${prefix}email:email-d`, `${prefix}nikp:nik-d`)).toBe(0);
    // x and y each spent one token (for c), not two: a refused take spends nothing.
    expect(Math.floor(Number(await redis.hget(`${prefix}rl:x`, 't')))).toBe(4);
    expect(Math.floor(Number(await redis.hget(`${prefix}rl:y`, 't')))).toBe(4);
  });
});

describe('ClaimsStore.complete (real Redis)', () => {
  const { prefix, redis, store, claim } = realRedisStore();

  it('completes registrations acknowledged together in one call, each exactly as it would alone', async () => {
    await redis.set(`${prefix}claims:v2:complete`, '1');
    const inputs = Array.from({ length: 7 }, (_, n) => ({
      nikIndex: `nik-${n}`,
      emailIndex: `email-${n}`,
      // Every other one came with an Idempotency-Key.
      ...(n % 2 ? { idempotencyKeyHash: `idem-${n}` } : {}),
      bodyHash: n % 2 ? `body-${n}` : '',
      registrationId: randomUUID(),
      submittedAt: new Date(Date.UTC(2026, 10, 30, 8, n)).toISOString(),
    }));
    for (const i of inputs) expect((await claim(i)).kind).toBe('claimed');
    // As after a failed publish's retry: an uncertain marker and expiring claims that completion clears.
    await store.markUncertain(inputs[0]!);
    expect(await redis.ttl(`${prefix}email:email-0`)).toBeGreaterThan(0);

    const watcher = new Redis(REDIS_URL);
    const seen: string[] = [];
    // MONITOR sees every client of the shared Redis: only this test's keys count.
    const monitor = await watcher.monitor();
    monitor.on('monitor', (_t: string, args: string[]) => {
      if (args[0]?.toLowerCase().startsWith('eval') && args.some((a) => a.startsWith(`${prefix}accepted:`))) seen.push(args[2]!);
    });
    await Promise.all(inputs.map((i, n) => store.complete(i, `b***${n}@example.id`)));
    await new Promise((r) => setTimeout(r, 50));
    monitor.disconnect(); // MONITOR runs on a connection of its own
    watcher.disconnect();
    expect(seen).toEqual(['42']); // one script call carrying 7 × 6 keys

    for (const [n, i] of inputs.entries()) {
      expect(await redis.ttl(`${prefix}email:${i.emailIndex}`)).toBe(-1);
      // It counts against its NIK's pending bound for INTAKE_PENDING_REGISTRATION_TTL_SEC (72 h by default).
      expect(Number(await redis.zscore(`${prefix}nikp:${i.nikIndex}`, i.registrationId))).toBeGreaterThan(Date.now() + 71 * 3600_000);
      expect(await redis.exists(`${prefix}uncertain:${i.registrationId}`)).toBe(0);
      expect(JSON.parse((await redis.get(`${prefix}accepted:${i.registrationId}`))!)).toEqual({
        submittedAt: i.submittedAt,
        emailMasked: `b***${n}@example.id`,
      });
      if (i.idempotencyKeyHash) {
        expect(await redis.get(`${prefix}idem:${i.idempotencyKeyHash}`)).toBe(`done|${i.bodyHash}|${i.registrationId}|${i.submittedAt}`);
        expect(await claim({ ...i, registrationId: randomUUID() })).toEqual({
          kind: 'idempotent',
          state: 'done',
          bodyHash: i.bodyHash,
          registrationId: i.registrationId,
          submittedAt: i.submittedAt,
        });
      }
    }
  });

  it('rejects every caller of a batch that Redis refused', async () => {
    const broken = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    broken.on('error', () => undefined);
    const s = new ClaimsStore(broken, prefix, 60);
    const i = { nikIndex: 'n', emailIndex: 'e', bodyHash: '', registrationId: randomUUID(), submittedAt: new Date().toISOString() };
    const results = await Promise.allSettled([s.complete(i, 'x'), s.complete({ ...i, registrationId: randomUUID() }, 'y')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    broken.disconnect();
  });
});

describe('completion after Kafka acknowledged (real Redis)', () => {
  const { prefix, redis, store } = realRedisStore();
  const input = (n: string) => ({
    nikIndex: `nik-${n}`,
    emailIndex: `email-${n}`,
    bodyHash: '',
    registrationId: randomUUID(),
    submittedAt: new Date().toISOString(),
  });

  it('writes the claims of a registration accepted while Redis could not answer, but never over another registration', async () => {
    const lone = input('lone');
    await store.complete(lone, 'l***e@example.id');
    expect(await redis.get(`${prefix}email:email-lone`)).toBe(lone.registrationId);
    expect(await redis.ttl(`${prefix}email:email-lone`)).toBe(-1);
    expect(await redis.zscore(`${prefix}nikp:nik-lone`, lone.registrationId)).not.toBeNull();

    const other = input('taken');
    await redis.set(`${prefix}email:email-taken`, 'someone-else', 'EX', 600);
    await store.complete(other, 'x');
    expect(await redis.get(`${prefix}email:email-taken`)).toBe('someone-else');
    expect(await redis.ttl(`${prefix}email:email-taken`)).toBeGreaterThan(0); // another's uncertain claim keeps its expiry
  });

  it('retries completions Redis refused until it takes them, once each', async () => {
    const i = input('pending');
    // A Redis that refuses: a pipeline's per-command errors must count as a failure, not as done.
    const refusing = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    refusing.on('error', () => undefined);
    await expect(new ClaimsStore(refusing, prefix, 60).seed(i)).rejects.toThrow();
    await expect(new ClaimsStore(refusing, prefix, 60).complete(i, 'x')).rejects.toThrow();
    refusing.disconnect();

    let up = false;
    let calls = 0;
    const failures: string[] = [];
    const pending = new PendingCompletions(
      (x, masked) => {
        calls++;
        return up ? store.complete(x, masked) : Promise.reject(new Error('down'));
      },
      (e) => failures.push(e.message),
    );
    pending.add(i, 'p***g@example.id');
    pending.add(i, 'p***g@example.id'); // the same registration twice is kept once
    await new Promise((r) => setTimeout(r, 700));
    expect(failures).toEqual(['down']);
    expect(pending.size).toBe(1);
    up = true;
    pending.retrySoon();
    for (let n = 0; n < 50 && pending.size > 0; n++) await new Promise((r) => setTimeout(r, 20));
    expect(pending.size).toBe(0);
    expect(calls).toBe(2);
    expect(await redis.get(`${prefix}email:email-pending`)).toBe(i.registrationId);
    expect(JSON.parse((await redis.get(`${prefix}accepted:${i.registrationId}`))!)).toMatchObject({ emailMasked: 'p***g@example.id' });
    pending.stop();
  });

  it('keeps at most `max`, dropping the oldest', () => {
    const pending = new PendingCompletions(
      () => Promise.reject(new Error('down')),
      () => undefined,
      2,
    );
    for (const id of ['a', 'b', 'c']) pending.add({ nikIndex: id, emailIndex: id, bodyHash: '', registrationId: id, submittedAt: '' }, '');
    expect(pending.size).toBe(2);
    pending.stop();
  });
});

describe('who holds a NIK (real Redis, issue #13)', () => {
  const { prefix, redis, store, claim } = realRedisStore();
  const input = (nik: string, email: string): ClaimInput => ({
    nikIndex: nik,
    emailIndex: email,
    bodyHash: '',
    registrationId: randomUUID(),
    submittedAt: new Date().toISOString(),
  });

  it('lets up to three pending registrations name a NIK, answers NIK_BUSY after, and NIK_HELD once the registry matched one', async () => {
    await redis.set(`${prefix}claims:v2:complete`, '1');
    const pending = ['a', 'b', 'c'].map((e) => input('nik-shared', `email-${e}`));
    for (const i of pending) {
      expect(await claim(i)).toEqual({ kind: 'claimed', registrationId: i.registrationId });
      await store.complete(i, 'x');
    }
    const fourth = input('nik-shared', 'email-d');
    expect(await claim(fourth)).toEqual({ kind: 'conflict', reason: 'NIK_BUSY', registrationId: fourth.registrationId });
    expect(await redis.exists(`${prefix}email:email-d`)).toBe(0); // a conflict claims nothing

    expect(await store.holdNik('nik-shared', pending[1]!.registrationId)).toBe(true);
    expect(await store.holdNik('nik-shared', pending[0]!.registrationId)).toBe(false); // one holder
    expect(await redis.zscore(`${prefix}nikp:nik-shared`, pending[1]!.registrationId)).toBeNull();
    const later = input('nik-shared', 'email-e');
    expect(await claim(later)).toMatchObject({ kind: 'conflict', reason: 'NIK_HELD' });

    // A conflict with an Idempotency-Key is recorded like any registration: its replay answers the same id.
    const keyed = { ...input('nik-shared', 'email-f'), idempotencyKeyHash: 'idem-conflict', bodyHash: 'body' };
    const first = await claim(keyed);
    expect(first).toMatchObject({ kind: 'conflict', reason: 'NIK_HELD', registrationId: keyed.registrationId });
    await store.complete({ ...keyed, conflict: 'NIK_HELD' }, 'x');
    expect(await claim({ ...keyed, registrationId: randomUUID() })).toMatchObject({ kind: 'idempotent', state: 'done', registrationId: keyed.registrationId });
    expect(await redis.exists(`${prefix}email:email-f`)).toBe(0); // its completion claimed nothing either
  });

  it('stops counting a pending registration once its time is up', async () => {
    await redis.set(`${prefix}claims:v2:complete`, '1');
    // 3 s: long enough that a loaded machine does not let the first lapse before the second claim.
    const short = new ClaimsStore(redis, prefix, 60, { pendingClaimSec: 3, pendingIdempotencySec: 5, pendingRegistrationSec: 3, maxPendingPerNik: 1 });
    const buckets = [{ key: `${prefix}rl:short`, capacity: 1e6, ratePerSec: 1e6 }];
    const one = input('nik-brief', 'email-brief-1');
    expect((await short.admitAndClaim(buckets, one)).claim?.kind).toBe('claimed');
    expect((await short.admitAndClaim(buckets, input('nik-brief', 'email-brief-2'))).claim).toMatchObject({ kind: 'conflict', reason: 'NIK_BUSY' });
    await new Promise((r) => setTimeout(r, 3_100));
    expect((await short.admitAndClaim(buckets, input('nik-brief', 'email-brief-3'))).claim?.kind).toBe('claimed');
  });
});
