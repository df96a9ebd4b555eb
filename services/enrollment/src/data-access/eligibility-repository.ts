import type pg from 'pg';

export interface VerifiedPerson {
  registrationId: string;
  nikIndex: string;
  provinceCode: string;
  verifiedAt: string;
  attempt: number;
  eventId: string;
}

export class EligibilityRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Stores verified registrations idempotently. A later attempt (a corrected NIK) replaces the
   * person's nik_index; a replayed or older attempt never moves it back. Returns rows written.
   */
  async upsert(people: VerifiedPerson[]): Promise<number> {
    if (people.length === 0) return 0;
    const r = await this.pool.query(
      `INSERT INTO eligibility (registration_id, nik_index, province_code, verified_at, attempt, event_id)
       SELECT DISTINCT ON (x."registrationId") x."registrationId", x."nikIndex", x."provinceCode", x."verifiedAt", x.attempt, x."eventId"
       FROM jsonb_to_recordset($1::jsonb)
         AS x("registrationId" uuid, "nikIndex" text, "provinceCode" text, "verifiedAt" timestamptz, attempt int, "eventId" uuid)
       ORDER BY x."registrationId", x.attempt DESC
       ON CONFLICT (registration_id) DO UPDATE
         SET nik_index = excluded.nik_index, province_code = excluded.province_code, verified_at = excluded.verified_at,
             attempt = excluded.attempt, event_id = excluded.event_id, updated_at = now()
         WHERE eligibility.attempt < excluded.attempt`,
      [JSON.stringify(people)],
    );
    return r.rowCount ?? 0;
  }

  /** Registrations the intake rejected or expired (decision 0024): never eligible from now on. Answers how many were new. */
  async recordIntakeRejections(rejections: ReadonlyArray<{ registrationId: string; status: string; reason?: string }>): Promise<number> {
    if (rejections.length === 0) return 0;
    const r = await this.pool.query(
      `INSERT INTO intake_rejections (registration_id, status, reason)
       SELECT DISTINCT ON ("registrationId") "registrationId", status, reason FROM jsonb_to_recordset($1::jsonb) AS x("registrationId" uuid, status text, reason text)
       ON CONFLICT (registration_id) DO NOTHING`,
      [JSON.stringify(rejections)],
    );
    return r.rowCount ?? 0;
  }
}
