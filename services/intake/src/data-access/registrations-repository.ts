import type pg from 'pg';
import type { RegistrationSubmittedV1, RegistrationStatus } from '@gelombang/contracts';

export interface StoredView {
  registrationId: string;
  status: string;
  emailMasked: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The order of the funnel: a status event only moves a registration forward. */
export const STATUS_RANK: Record<RegistrationStatus, number> = {
  pending_email_verification: 1,
  email_verified: 2,
  nik_rejected: 3,
  nik_verified: 4,
  enrolled: 5,
  rejected_duplicate: 9,
};

export class RegistrationsRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Inserts a batch of submissions idempotently (by registration and event id). Returns the ids that
   * lost a uniqueness race (same NIK or email already active): they are stored as rejected_duplicate.
   */
  async insertSubmitted(events: RegistrationSubmittedV1[]): Promise<{ inserted: string[]; duplicates: string[] }> {
    if (events.length === 0) return { inserted: [], duplicates: [] };
    const rows = events.map((e) => ({
      registration_id: e.data.registrationId,
      event_id: e.id,
      nik_index: e.data.blindIndex.nik,
      email_index: e.data.blindIndex.email,
      nik_enc: e.data.pii.nik,
      email_enc: e.data.pii.email,
      phone_enc: e.data.pii.phone,
      full_name_enc: e.data.pii.fullName,
      birth_date_enc: e.data.pii.birthDate,
      birth_place_enc: e.data.pii.birthPlace ?? null,
      kk_number_enc: e.data.pii.kkNumber ?? null,
      email_masked: e.data.emailMasked,
      province_code: e.data.provinceCode,
      idempotency_key_hash: e.data.idempotencyKeyHash ?? null,
      submitted_at: e.data.submittedAt,
    }));
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const columns = `registration_id uuid, event_id uuid, nik_index text, email_index text, nik_enc text, email_enc text,
        phone_enc text, full_name_enc text, birth_date_enc text, birth_place_enc text, kk_number_enc text, email_masked text,
        province_code text, idempotency_key_hash text, submitted_at timestamptz`;
      const names = `registration_id, event_id, nik_index, email_index, nik_enc, email_enc, phone_enc, full_name_enc,
        birth_date_enc, birth_place_enc, kk_number_enc, email_masked, province_code, idempotency_key_hash, submitted_at`;
      // No conflict target: skips rows hitting the primary key, event id, or either partial unique index.
      const inserted = await client.query<{ registration_id: string }>(
        `INSERT INTO registrations (${names}, status)
         SELECT ${names}, 'pending_email_verification' FROM jsonb_to_recordset($1::jsonb) AS x(${columns})
         ORDER BY submitted_at
         ON CONFLICT DO NOTHING RETURNING registration_id`,
        [JSON.stringify(rows)],
      );
      const insertedIds = new Set(inserted.rows.map((r) => r.registration_id));
      const leftovers = rows.filter((r) => !insertedIds.has(r.registration_id));
      let duplicates: string[] = [];
      if (leftovers.length > 0) {
        // Replays hit the primary key and are skipped again here; what remains lost on NIK or email.
        const dup = await client.query<{ registration_id: string }>(
          `INSERT INTO registrations (${names}, status)
           SELECT ${names}, 'rejected_duplicate' FROM jsonb_to_recordset($1::jsonb) AS x(${columns})
           ON CONFLICT (registration_id) DO NOTHING RETURNING registration_id`,
          [JSON.stringify(leftovers)],
        );
        duplicates = dup.rows.map((r) => r.registration_id);
      }
      await client.query('COMMIT');
      return { inserted: [...insertedIds], duplicates };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** Applies later-stage statuses; out-of-order or replayed events never move a registration back. */
  async applyStatus(changes: Array<{ registrationId: string; status: RegistrationStatus; eventId: string; changedAt: string }>): Promise<void> {
    if (changes.length === 0) return;
    const rows = changes.map((c) => ({ ...c, rank: STATUS_RANK[c.status] }));
    await this.pool.query(
      `INSERT INTO registration_progress (registration_id, status, rank, event_id, changed_at)
       SELECT DISTINCT ON (x."registrationId") x."registrationId", x.status, x.rank, x."eventId", x."changedAt"
       FROM jsonb_to_recordset($1::jsonb) AS x("registrationId" uuid, status text, rank smallint, "eventId" uuid, "changedAt" timestamptz)
       ORDER BY x."registrationId", x.rank DESC
       ON CONFLICT (registration_id) DO UPDATE
         SET status = excluded.status, rank = excluded.rank, event_id = excluded.event_id, changed_at = excluded.changed_at, updated_at = now()
         WHERE registration_progress.rank < excluded.rank`,
      [JSON.stringify(rows)],
    );
  }

  async view(registrationId: string): Promise<StoredView | undefined> {
    const r = await this.pool.query(
      `SELECT r.registration_id, r.email_masked, r.created_at,
              CASE WHEN r.status = 'rejected_duplicate' OR p.status IS NULL THEN r.status ELSE p.status END AS status,
              GREATEST(r.updated_at, p.updated_at) AS updated_at
       FROM registrations r LEFT JOIN registration_progress p USING (registration_id)
       WHERE r.registration_id = $1`,
      [registrationId],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    return { registrationId: row.registration_id, status: row.status, emailMasked: row.email_masked, createdAt: row.created_at, updatedAt: row.updated_at };
  }

  /** The slow path used while Redis is away: is this NIK or email already active? */
  async findActive(nikIndex: string, emailIndex: string): Promise<'nik' | 'email' | undefined> {
    const r = await this.pool.query<{ nik: boolean }>(
      `SELECT nik_index = $1 AS nik FROM registrations
       WHERE (nik_index = $1 OR email_index = $2) AND status <> 'rejected_duplicate' LIMIT 1`,
      [nikIndex, emailIndex],
    );
    if (!r.rows[0]) return undefined;
    return r.rows[0].nik ? 'nik' : 'email';
  }
}
