import type pg from 'pg';
import type { RegistrationSubmittedV1, RegistrationStatus } from '@gelombang/contracts';
import { enqueueEvents, inTransaction, type OutboxMessage } from '@gelombang/platform';

export interface StoredView {
  registrationId: string;
  status: string;
  emailMasked: string;
  reason?: string;
  nikAttempt: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The order of the funnel: a status event only moves a registration forward. */
export const STATUS_RANK: Record<RegistrationStatus, number> = {
  pending_email_verification: 1,
  email_verified: 2,
  nik_resubmitted: 3,
  nik_rejected: 4,
  nik_verified: 5,
  enrolled: 6,
  withdrawn: 7,
  expired: 8,
  rejected_duplicate: 9,
};

/** The statuses of a registration the registry matched: it holds its NIK. */
export const MATCHED_STATUSES: RegistrationStatus[] = ['nik_verified', 'enrolled', 'withdrawn'];
const MATCHED_SQL = MATCHED_STATUSES.map((s) => `'${s}'`).join(', ');

/** A seat's statuses (enrolled, withdrawn) can alternate; between them the later change wins. */
const SEAT_RANKS = [STATUS_RANK.enrolled, STATUS_RANK.withdrawn];
const isSeat = (rank: number) => SEAT_RANKS.includes(rank);

export interface StatusChange {
  registrationId: string;
  status: RegistrationStatus;
  eventId: string;
  changedAt: string;
  /** NIK statuses: which check. Absent (0) for the others. */
  attempt?: number;
  reason?: string;
}

/**
 * Does `next` replace `current`? A newer NIK check always does; between the seat's statuses (enrolled,
 * withdrawn, enrolled again in another batch) the later `changedAt` does; otherwise only a later funnel
 * stage, and an answer about an older NIK check never does. The SQL in applyStatus is the same rule.
 */
export function supersedes(
  next: { rank: number; attempt: number; changedAt?: string },
  current: { rank: number; attempt: number; changedAt?: string },
): boolean {
  if (next.attempt > current.attempt) return true;
  if (isSeat(next.rank) && isSeat(current.rank)) return Date.parse(next.changedAt ?? '') > Date.parse(current.changedAt ?? '');
  return next.rank > current.rank && (next.attempt === 0 || next.attempt === current.attempt);
}

/** What a correction needs from the stored registration, read under a row lock. */
export interface CorrectionTarget {
  status: string;
  reason: string | null;
  nikAttempt: number;
  nikIndex: string;
  fullNameEnc: string;
  birthDateEnc: string;
  /** The retention job erased its personal data: nothing left to correct. */
  erased: boolean;
}

export class RegistrationsRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Inserts a batch of submissions idempotently (by registration and event id). Returns the ids that
   * lost a uniqueness race (same NIK or email already active): they are stored as rejected_duplicate.
   */
  async insertSubmitted(events: RegistrationSubmittedV1[]): Promise<{ inserted: string[]; duplicates: Array<{ registrationId: string; reason: string }> }> {
    if (events.length === 0) return { inserted: [], duplicates: [] };
    const reasons = new Map(events.map((e) => [e.data.registrationId, e.data.conflict ?? 'DUPLICATE_NIK_OR_EMAIL']));
    const conflicted = new Set(events.filter((e) => e.data.conflict).map((e) => e.data.registrationId));
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
    return inTransaction(this.pool, async (client) => {
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
        [JSON.stringify(rows.filter((r) => !conflicted.has(r.registration_id)))],
      );
      const insertedIds = new Set(inserted.rows.map((r) => r.registration_id));
      const leftovers = rows.filter((r) => !insertedIds.has(r.registration_id));
      let duplicates: Array<{ registrationId: string; reason: string }> = [];
      if (leftovers.length > 0) {
        // Replays hit the primary key and are skipped again here; what remains lost on NIK or email.
        const dup = await client.query<{ registration_id: string }>(
          `INSERT INTO registrations (${names}, status)
           SELECT ${names}, 'rejected_duplicate' FROM jsonb_to_recordset($1::jsonb) AS x(${columns})
           ON CONFLICT (registration_id) DO NOTHING RETURNING registration_id`,
          [JSON.stringify(leftovers)],
        );
        duplicates = dup.rows.map((r) => ({ registrationId: r.registration_id, reason: reasons.get(r.registration_id)! }));
      }
      return { inserted: [...insertedIds], duplicates };
    });
  }

  /** The stored status of these registrations (a redelivered submission's verdict, announced again). */
  async storedStatuses(registrationIds: string[]): Promise<Array<{ registrationId: string; status: string }>> {
    const r = await this.pool.query<{ registration_id: string; status: string }>(
      'SELECT registration_id, status FROM registrations WHERE registration_id = ANY($1::uuid[])',
      [registrationIds],
    );
    return r.rows.map((x) => ({ registrationId: x.registration_id, status: x.status }));
  }

  /** Applies later-stage statuses; out-of-order, replayed or stale-attempt events never move a registration back. */
  async applyStatus(changes: StatusChange[]): Promise<void> {
    if (changes.length === 0) return;
    // Fold each registration's events first (one row per id in the upsert), by the same rule as the SQL.
    const latest = new Map<string, StatusChange & { rank: number; attempt: number }>();
    for (const c of changes) {
      const row = { ...c, rank: STATUS_RANK[c.status], attempt: c.attempt ?? 0 };
      const cur = latest.get(c.registrationId);
      if (!cur) latest.set(c.registrationId, row);
      else if (supersedes(row, cur)) latest.set(c.registrationId, { ...row, attempt: Math.max(row.attempt, cur.attempt) });
    }
    await this.pool.query(
      `INSERT INTO registration_progress AS p (registration_id, status, rank, event_id, changed_at, attempt, reason)
       SELECT x."registrationId", x.status, x.rank, x."eventId", x."changedAt", x.attempt, x.reason
       FROM jsonb_to_recordset($1::jsonb) AS x("registrationId" uuid, status text, rank smallint, "eventId" uuid, "changedAt" timestamptz, attempt smallint, reason text)
       ON CONFLICT (registration_id) DO UPDATE
         SET status = excluded.status, rank = excluded.rank, event_id = excluded.event_id, changed_at = excluded.changed_at,
             attempt = GREATEST(p.attempt, excluded.attempt), reason = excluded.reason, updated_at = now()
         WHERE excluded.attempt > p.attempt
            OR (excluded.rank = ANY($2::smallint[]) AND p.rank = ANY($2::smallint[]) AND excluded.changed_at > p.changed_at)
            OR (NOT (excluded.rank = ANY($2::smallint[]) AND p.rank = ANY($2::smallint[]))
                AND excluded.rank > p.rank AND (excluded.attempt = 0 OR excluded.attempt = p.attempt))`,
      [JSON.stringify([...latest.values()].map((r) => ({ ...r, reason: r.reason ?? null }))), SEAT_RANKS],
    );
  }

  /** Locks the registration (and its progress) for a NIK correction; undefined when unknown. */
  async lockForCorrection(client: pg.PoolClient, registrationId: string): Promise<CorrectionTarget | undefined> {
    const r = await client.query(
      `SELECT CASE WHEN r.status <> 'pending_email_verification' OR p.status IS NULL THEN r.status ELSE p.status END AS status,
              p.reason, r.nik_attempt, r.nik_index, r.full_name_enc, r.birth_date_enc, r.pii_erased_at IS NOT NULL AS erased
       FROM registrations r LEFT JOIN registration_progress p USING (registration_id)
       WHERE r.registration_id = $1
       FOR UPDATE OF r`,
      [registrationId],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    return {
      status: row.status,
      reason: row.reason,
      nikAttempt: row.nik_attempt,
      nikIndex: row.nik_index,
      fullNameEnc: row.full_name_enc,
      birthDateEnc: row.birth_date_enc,
      erased: row.erased,
    };
  }

  /**
   * Stores the corrected NIK, moves the registration to nik_resubmitted for the new attempt and enqueues
   * the events, in the caller's transaction. A NIK already active elsewhere fails on the unique index
   * (pg code 23505), which the caller turns into INTAKE_NIK_ALREADY_REGISTERED.
   */
  async applyCorrection(
    client: pg.PoolClient,
    c: { registrationId: string; nikIndex: string; nikEnc: string; provinceCode: string; attempt: number; eventId: string; changedAt: string },
    events: OutboxMessage[],
  ): Promise<void> {
    await client.query(
      `UPDATE registrations SET nik_index = $2, nik_enc = $3, province_code = $4, nik_attempt = $5, updated_at = now()
       WHERE registration_id = $1`,
      [c.registrationId, c.nikIndex, c.nikEnc, c.provinceCode, c.attempt],
    );
    await client.query(
      `INSERT INTO registration_progress (registration_id, status, rank, event_id, changed_at, attempt, reason)
       VALUES ($1, 'nik_resubmitted', $2, $3, $4, $5, NULL)
       ON CONFLICT (registration_id) DO UPDATE
         SET status = excluded.status, rank = excluded.rank, event_id = excluded.event_id, changed_at = excluded.changed_at,
             attempt = excluded.attempt, reason = NULL, updated_at = now()`,
      [c.registrationId, STATUS_RANK.nik_resubmitted, c.eventId, c.changedAt, c.attempt],
    );
    await enqueueEvents(client, events);
  }

  /** Runs `work` in a transaction on one pooled client. */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }

  async view(registrationId: string): Promise<StoredView | undefined> {
    const r = await this.pool.query(
      `SELECT r.registration_id, r.email_masked, r.created_at, r.nik_attempt, p.reason,
              CASE WHEN r.status <> 'pending_email_verification' OR p.status IS NULL THEN r.status ELSE p.status END AS status,
              GREATEST(r.updated_at, p.updated_at) AS updated_at
       FROM registrations r LEFT JOIN registration_progress p USING (registration_id)
       WHERE r.registration_id = $1`,
      [registrationId],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    return {
      registrationId: row.registration_id,
      status: row.status,
      emailMasked: row.email_masked,
      ...(row.reason ? { reason: row.reason } : {}),
      nikAttempt: row.nik_attempt,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  /** Every active registration's blind indexes, in pages (keyset by id): what the Redis claims mirror. */
  async *activeClaims(pageSize = 5_000): AsyncGenerator<Array<{ registrationId: string; nikIndex: string; emailIndex: string; matched: boolean }>> {
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const r = await this.pool.query<{ registration_id: string; nik_index: string; email_index: string; matched: boolean }>(
        `SELECT r.registration_id, r.nik_index, r.email_index, coalesce(p.status IN (${MATCHED_SQL}), false) AS matched
         FROM registrations r LEFT JOIN registration_progress p USING (registration_id)
         WHERE r.status = 'pending_email_verification' AND r.registration_id > $1 ORDER BY r.registration_id LIMIT $2`,
        [after, pageSize],
      );
      if (r.rows.length === 0) return;
      yield r.rows.map((x) => ({ registrationId: x.registration_id, nikIndex: x.nik_index, emailIndex: x.email_index, matched: x.matched }));
      after = r.rows[r.rows.length - 1]!.registration_id;
      if (r.rows.length < pageSize) return;
    }
  }

  /** The slow path used while Redis is away: is this NIK or email already active? */
  /**
   * What PostgreSQL says when Redis cannot: the email registered, or the NIK held by a matched
   * registration. (The pending bound per NIK is Redis's alone: without Redis it is not enforced.)
   */
  async findActive(nikIndex: string, emailIndex: string): Promise<'EMAIL_REGISTERED' | 'NIK_HELD' | undefined> {
    const r = await this.pool.query<{ email: boolean }>(
      `SELECT r.email_index = $2 AS email FROM registrations r LEFT JOIN registration_progress p USING (registration_id)
       WHERE r.status = 'pending_email_verification' AND (r.email_index = $2 OR (r.nik_index = $1 AND p.status IN (${MATCHED_SQL})))
       ORDER BY 1 DESC LIMIT 1`,
      [nikIndex, emailIndex],
    );
    if (!r.rows[0]) return undefined;
    return r.rows[0].email ? 'EMAIL_REGISTERED' : 'NIK_HELD';
  }

  /**
   * Pending registrations that never verified their email and were submitted before `before`: they
   * end `expired`, announced through the outbox in the same transaction. Answers what they claimed,
   * for Redis to release. SKIP LOCKED: replicas share the work.
   */
  async expirePending(
    before: Date,
    limit: number,
    announce: (registrationId: string) => OutboxMessage,
  ): Promise<Array<{ registrationId: string; nikIndex: string; emailIndex: string }>> {
    return inTransaction(this.pool, async (client) => {
      const r = await client.query<{ registration_id: string; nik_index: string; email_index: string }>(
        `UPDATE registrations r SET status = 'expired', updated_at = now()
         WHERE r.registration_id IN (
           SELECT x.registration_id FROM registrations x LEFT JOIN registration_progress p USING (registration_id)
           WHERE x.status = 'pending_email_verification' AND x.submitted_at < $1
             AND (p.status IS NULL OR p.status = 'pending_email_verification')
           ORDER BY x.submitted_at LIMIT $2 FOR UPDATE OF x SKIP LOCKED)
         RETURNING r.registration_id, r.nik_index, r.email_index`,
        [before, limit],
      );
      const expired = r.rows.map((x) => ({ registrationId: x.registration_id, nikIndex: x.nik_index, emailIndex: x.email_index }));
      await enqueueEvents(
        client,
        expired.map((x) => announce(x.registrationId)),
      );
      return expired;
    });
  }

  /**
   * UU PDP 27/2022 (purpose limitation, retention): a registration that ended unverified (`expired`),
   * duplicate or rejected by the registry, and has not moved since `before`, loses its sealed personal
   * data and its blind indexes; its id, status and times stay (the funnel's counts, an applicant's
   * answer). Answers how many were erased.
   */
  async erasePersonalData(before: Date, limit: number): Promise<number> {
    const r = await this.pool.query(
      `UPDATE registrations r SET nik_enc = '', email_enc = '', phone_enc = '', full_name_enc = '', birth_date_enc = '',
         birth_place_enc = NULL, kk_number_enc = NULL, nik_index = 'erased:' || r.registration_id, email_index = 'erased:' || r.registration_id,
         pii_erased_at = now()
       WHERE r.registration_id IN (
         SELECT x.registration_id FROM registrations x LEFT JOIN registration_progress p USING (registration_id)
         WHERE x.pii_erased_at IS NULL AND greatest(x.updated_at, coalesce(p.changed_at, x.updated_at)) < $1
           AND (x.status IN ('expired', 'rejected_duplicate') OR p.status = 'nik_rejected')
         LIMIT $2 FOR UPDATE OF x SKIP LOCKED)`,
      [before, limit],
    );
    return r.rowCount ?? 0;
  }

  /**
   * The matched registrations that concern these newly stored ones: those among them the registry
   * matched already (their status event came first), and those holding a NIK one of them names (the
   * match was applied before this row was stored).
   */
  async matchedFor(registrationIds: string[]): Promise<string[]> {
    const r = await this.pool.query<{ registration_id: string }>(
      `SELECT p.registration_id FROM registration_progress p
         WHERE p.registration_id = ANY($1::uuid[]) AND p.status IN (${MATCHED_SQL})
       UNION
       SELECT m.registration_id FROM registrations r
         JOIN registrations m ON m.nik_index = r.nik_index AND m.registration_id <> r.registration_id
         JOIN registration_progress p ON p.registration_id = m.registration_id
         WHERE r.registration_id = ANY($1::uuid[]) AND p.status IN (${MATCHED_SQL})`,
      [registrationIds],
    );
    return r.rows.map((x) => x.registration_id);
  }

  /**
   * The registry matched `registrationId`: every other registration naming its NIK that is not matched
   * itself ends rejected_duplicate (a squatter's included). Answers the NIK's index (undefined while the
   * registration is not projected yet) and the registrations it rejected.
   */
  async rejectOthersNamingNik(registrationId: string): Promise<{ nikIndex?: string; rejected: string[] }> {
    return inTransaction(this.pool, async (client) => {
      const m = await client.query<{ nik_index: string }>(`SELECT nik_index FROM registrations WHERE registration_id = $1`, [registrationId]);
      const nikIndex = m.rows[0]?.nik_index;
      if (!nikIndex) return { rejected: [] };
      const r = await client.query<{ registration_id: string }>(
        `UPDATE registrations r SET status = 'rejected_duplicate', updated_at = now()
         WHERE r.nik_index = $1 AND r.registration_id <> $2 AND r.status = 'pending_email_verification'
           AND NOT EXISTS (SELECT 1 FROM registration_progress p WHERE p.registration_id = r.registration_id AND p.status IN (${MATCHED_SQL}))
         RETURNING r.registration_id`,
        [nikIndex, registrationId],
      );
      return { nikIndex, rejected: r.rows.map((x) => x.registration_id) };
    });
  }
}
