import { DATABASE_URL, dropSchema, uniqueId } from '@gelombang/testkit';
import { createPool, inTransaction, rollbackWith } from '../src/postgres';

describe('inTransaction (real PostgreSQL)', () => {
  const schema = `_t_${uniqueId()}`;
  const pool = createPool({ url: DATABASE_URL, schema, max: 2, applicationName: 'tx-test' });
  const rows = async () => (await pool.query<{ v: string }>('SELECT v FROM items ORDER BY v')).rows.map((r) => r.v);

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA ${schema}`);
    await pool.query('CREATE TABLE items (v text PRIMARY KEY)');
  });
  afterAll(async () => {
    await pool.end();
    await dropSchema(schema);
  });

  it('commits what the work wrote and returns its value', async () => {
    expect(await inTransaction(pool, async (c) => (await c.query("INSERT INTO items VALUES ('a') RETURNING v")).rows[0].v)).toBe('a');
    expect(await rows()).toEqual(['a']);
  });

  it('rolls back and rethrows when the work throws, also after a failed statement', async () => {
    await expect(
      inTransaction(pool, async (c) => {
        await c.query("INSERT INTO items VALUES ('b')");
        await c.query("INSERT INTO items VALUES ('a')"); // duplicate key: the transaction is aborted
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await rows()).toEqual(['a']);
  });

  it('rolls back and returns the value given to rollbackWith', async () => {
    const out = await inTransaction(pool, async (c) => {
      await c.query("INSERT INTO items VALUES ('c')");
      return rollbackWith('kept out');
    });
    expect(out).toBe('kept out');
    expect(await rows()).toEqual(['a']);
  });

  it('gives every client back to the pool (more transactions than pool slots, some failing)', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => inTransaction(pool, async (c) => (i % 2 ? (await c.query('SELECT 1 AS one')).rows[0].one : c.query('SELECT nope')))),
    );
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(pool.idleCount + pool.waitingCount).toBe(pool.totalCount);
    expect(pool.waitingCount).toBe(0);
  });
});
