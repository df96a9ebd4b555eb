import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '@gelombang/platform';
import { DATABASE_URL, dropSchema, uniqueId } from '@gelombang/testkit';
import { MIGRATIONS_DIR } from '../src/app';

/** 0002 on a schema that has lived with 0001 only: holds for what was verified before it. */
describe('migration 0002_nik_holders (real PostgreSQL)', () => {
  const schema = `nik_verification_t_${uniqueId()}`;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  let before: string;

  beforeAll(async () => {
    before = await mkdtemp(join(tmpdir(), 'nik-0001-'));
    await copyFile(join(MIGRATIONS_DIR, '0001_checks.sql'), join(before, '0001_checks.sql'));
  });
  afterAll(async () => {
    await pool.end();
    await dropSchema(schema);
    await rm(before, { recursive: true, force: true });
  });

  it('backfills one holder per NIK from registrations whose latest attempt is verified, the earlier verification first', async () => {
    expect(await migrate(pool, schema, before)).toEqual(['0001_checks.sql']);
    const reg = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;
    const row = (n: number, attempt: number, nikIndex: string, state: string, reason: string | null, checkedAt: string | null) =>
      pool.query(
        `INSERT INTO ${schema}.checks (registration_id, attempt, event_id, nik_enc, full_name_enc, birth_date_enc, nik_index, province_code,
           state, reason, correctable, checked_at, requested_at)
         VALUES ($1, $2, 'e', 's', 's', 's', $3, '32', $4, $5, $6, $7, '2026-11-01T00:00:00Z')`,
        [reg(n), attempt, nikIndex, state, reason, reason === null ? null : reason !== 'NIK_INACTIVE', checkedAt],
      );
    // Two registrations verified for one NIK (the intake used to refuse that): the earlier keeps the hold.
    await row(1, 1, 'nik-index-aaaaaaaa', 'verified', null, '2026-11-02T00:00:00Z');
    await row(2, 1, 'nik-index-aaaaaaaa', 'verified', null, '2026-11-01T12:00:00Z');
    // Rejected, then verified with the corrected NIK: holds the corrected one only.
    await row(3, 1, 'nik-index-bbbbbbbb', 'rejected', 'NIK_NOT_FOUND', '2026-11-01T00:00:00Z');
    await row(3, 2, 'nik-index-cccccccc', 'verified', null, '2026-11-03T00:00:00Z');
    // Rejected or still queued: no hold.
    await row(4, 1, 'nik-index-dddddddd', 'rejected', 'DATA_MISMATCH', '2026-11-01T00:00:00Z');
    await row(5, 1, 'nik-index-eeeeeeee', 'queued', null, null);

    // Later migrations run too; 0002 is the one whose backfill this checks.
    expect((await migrate(pool, schema, MIGRATIONS_DIR))[0]).toBe('0002_nik_holders.sql');
    const holders = await pool.query(`SELECT nik_index, registration_id, held_at FROM ${schema}.nik_holders ORDER BY nik_index`);
    expect(holders.rows).toEqual([
      { nik_index: 'nik-index-aaaaaaaa', registration_id: reg(2), held_at: new Date('2026-11-01T12:00:00Z') },
      { nik_index: 'nik-index-cccccccc', registration_id: reg(3), held_at: new Date('2026-11-03T00:00:00Z') },
    ]);
    // The new reason is now a valid one for a check.
    await row(6, 1, 'nik-index-aaaaaaaa', 'rejected', 'NIK_ALREADY_HELD', '2026-11-04T00:00:00Z');
    await expect(row(7, 1, 'nik-index-ffffffff', 'rejected', 'SOMETHING_ELSE', '2026-11-04T00:00:00Z')).rejects.toThrow(/checks_reason_check/);
  });
});
