import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_URL, uniqueId } from '@gelombang/testkit';
import { ClaimsColdError, ClaimsStore } from '../src/data-access/claims-store';

/** The claims' cold start on the real Redis: no marker → no claim; rebuilt from rows → warm. */
describe('ClaimsStore after Redis lost its data (real Redis)', () => {
  const prefix = `test:${uniqueId()}:intake:`;
  const redis = new Redis(REDIS_URL);
  const store = new ClaimsStore(redis, prefix, 60);
  const claim = (nikIndex: string, emailIndex: string) =>
    store.claim({ nikIndex, emailIndex, bodyHash: 'h', registrationId: randomUUID(), submittedAt: new Date().toISOString() });
  async function* pages(...batches: Array<Array<{ registrationId: string; nikIndex: string; emailIndex: string }>>) {
    yield* batches;
  }

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('claims nothing while the set is incomplete, and refuses what the rebuild restored once it is', async () => {
    await expect(claim('nik-a-0000000000000', 'email-a-00000000000')).rejects.toBeInstanceOf(ClaimsColdError);
    expect(await redis.exists(`${prefix}nik:nik-a-0000000000000`)).toBe(0);

    // Another replica holds the rebuild lock: this one leaves it to them.
    await redis.set(`${prefix}claims:rebuilding`, '1', 'EX', 30);
    expect(await store.rebuild(pages([{ registrationId: randomUUID(), nikIndex: 'x', emailIndex: 'y' }]))).toBeUndefined();
    await redis.del(`${prefix}claims:rebuilding`);

    const a = randomUUID();
    await store.seed({ nikIndex: 'nik-c-0000000000000', emailIndex: 'email-c-00000000000', registrationId: a }); // taken through PostgreSQL meanwhile
    const restored = await store.rebuild(
      pages(
        [{ registrationId: randomUUID(), nikIndex: 'nik-a-0000000000000', emailIndex: 'email-a-00000000000' }],
        [{ registrationId: randomUUID(), nikIndex: 'nik-b-0000000000000', emailIndex: 'email-b-00000000000' }, { registrationId: randomUUID(), nikIndex: 'nik-c-0000000000000', emailIndex: 'email-c-00000000000' }],
      ),
    );
    expect(restored).toBe(3);
    expect(await redis.get(`${prefix}nik:nik-c-0000000000000`)).toBe(a); // NX: the claim taken meanwhile stays
    expect(await claim('nik-a-0000000000000', 'email-new-000000000')).toEqual({ kind: 'duplicate', field: 'nik' });
    expect(await claim('nik-new-00000000000', 'email-b-00000000000')).toEqual({ kind: 'duplicate', field: 'email' });
    expect((await claim('nik-new-00000000000', 'email-new-000000000')).kind).toBe('claimed');
    expect(await store.rebuild(pages())).toBe(0); // already complete: nothing to do
  });
});
