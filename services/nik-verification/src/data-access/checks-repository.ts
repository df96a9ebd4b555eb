import type pg from 'pg';
import { enqueueEvents, inTransaction, type OutboxMessage } from '@gelombang/platform';
import type { NikRejectionReason } from '@gelombang/contracts';
import { ALREADY_HELD, type Decision } from '../domain/outcome';

export interface NewCheck {
  registrationId: string;
  attempt: number;
  eventId: string;
  nikEnc: string;
  fullNameEnc: string;
  birthDateEnc: string;
  nikIndex: string;
  provinceCode: string;
  requestedAt: string;
}

/** A due check this checker now holds (until `leaseId` is released or runs out). */
export interface ClaimedCheck {
  registrationId: string;
  attempt: number;
  nikEnc: string;
  fullNameEnc: string;
  birthDateEnc: string;
  nikIndex: string;
  provinceCode: string;
  tries: number;
  leaseId: string;
  /** Sent with every call for this check (Idempotency-Key): the registry answers a repeated one without verifying again. */
  callId: string;
  /** Calls started for it so far (recorded before each left): more than `tries` means an outcome was lost. */
  callsStarted: number;
}

export interface CheckView {
  registrationId: string;
  attempt: number;
  state: 'queued' | 'verified' | 'rejected';
  reason: NikRejectionReason | null;
  correctable: boolean | null;
  checkedAt: Date | null;
}

export interface Backlog {
  queued: number;
  /** Queued rows whose time has come (the rest wait for a back-off). */
  due: number;
  oldestQueuedAt: Date | null;
}

type Messages = readonly OutboxMessage[];

export class ChecksRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Stores requested checks; a replayed (registration, attempt) is ignored, and so is a request for a
   * registration the intake rejected (decision 0024). Returns how many were new.
   */
  async insertRequested(checks: readonly NewCheck[]): Promise<number> {
    if (checks.length === 0) return 0;
    const r = await this.pool.query(
      `INSERT INTO checks (registration_id, attempt, event_id, nik_enc, full_name_enc, birth_date_enc, nik_index, province_code, requested_at)
       SELECT "registrationId", attempt, "eventId", "nikEnc", "fullNameEnc", "birthDateEnc", "nikIndex", "provinceCode", "requestedAt"
       FROM jsonb_to_recordset($1::jsonb) AS x("registrationId" uuid, attempt int, "eventId" text, "nikEnc" text, "fullNameEnc" text,
         "birthDateEnc" text, "nikIndex" text, "provinceCode" text, "requestedAt" timestamptz)
       WHERE NOT EXISTS (SELECT 1 FROM intake_rejections j WHERE j.registration_id = x."registrationId")
       ON CONFLICT (registration_id, attempt) DO NOTHING`,
      [JSON.stringify(checks)],
    );
    return r.rowCount ?? 0;
  }

  /**
   * Leases up to `limit` due rows, oldest due first. SKIP LOCKED lets replicas claim side by side; the
   * lease (not a held transaction) covers the registry call, so a crashed claimer's rows come back.
   */
  async claimDue(limit: number, leaseId: string, leaseMs: number): Promise<ClaimedCheck[]> {
    const r = await this.pool.query(
      `UPDATE checks c SET lease_id = $2, lease_until = now() + make_interval(secs => $3::float8 / 1000), updated_at = now()
       FROM (SELECT registration_id, attempt FROM checks
             WHERE state = 'queued' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
             ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
       WHERE c.registration_id = due.registration_id AND c.attempt = due.attempt
       RETURNING c.registration_id, c.attempt, c.nik_enc, c.full_name_enc, c.birth_date_enc, c.nik_index, c.province_code, c.tries, c.next_attempt_at,
         c.call_id, c.calls_started`,
      [limit, leaseId, leaseMs],
    );
    return r.rows
      .sort((a, b) => a.next_attempt_at - b.next_attempt_at)
      .map((row) => ({
        registrationId: row.registration_id,
        attempt: row.attempt,
        nikEnc: row.nik_enc,
        fullNameEnc: row.full_name_enc,
        birthDateEnc: row.birth_date_enc,
        nikIndex: row.nik_index,
        provinceCode: row.province_code,
        tries: row.tries,
        leaseId,
        callId: row.call_id,
        callsStarted: row.calls_started,
      }));
  }

  /**
   * Records a decision and the events announcing it in one transaction (transactional outbox). Only the
   * lease holder of a still-queued row writes, so a check is decided and announced once; otherwise
   * nothing is written and the answer is undefined.
   *
   * A match takes the NIK's hold (`nik_holders`) in the same transaction. When another registration
   * holds it already, the match is recorded as ALREADY_HELD instead, so at most one registration per
   * NIK is ever verified; two matches racing serialise on the holder's primary key (the second insert
   * waits for the first to commit, then sees its row). The same registration matched again (a later
   * attempt) keeps its hold. Answers the decision actually recorded. `called`: a registry call was
   * made for it (counted in `tries`).
   */
  async decide(
    check: ClaimedCheck,
    decision: Decision,
    events: (recorded: Decision, checkedAt: Date) => Messages,
    called = true,
  ): Promise<Decision | undefined> {
    return inTransaction(this.pool, async (client) => {
      const mine = await client.query(`SELECT 1 FROM checks WHERE registration_id = $1 AND attempt = $2 AND lease_id = $3 AND state = 'queued' FOR UPDATE`, [
        check.registrationId,
        check.attempt,
        check.leaseId,
      ]);
      if (mine.rowCount === 0) return undefined;
      let recorded = decision;
      if (decision.state === 'verified' && (await this.hold(client, check)) !== check.registrationId) recorded = ALREADY_HELD;
      const r = await client.query<{ checked_at: Date }>(
        `UPDATE checks SET state = $3, reason = $4, correctable = $5, checked_at = now(), tries = tries + $6, last_error = NULL,
           lease_id = NULL, lease_until = NULL, updated_at = now()
         WHERE registration_id = $1 AND attempt = $2
         RETURNING checked_at`,
        [
          check.registrationId,
          check.attempt,
          recorded.state,
          recorded.state === 'rejected' ? recorded.reason : null,
          recorded.state === 'rejected' ? recorded.correctable : null,
          called ? 1 : 0,
        ],
      );
      await enqueueEvents(client, events(recorded, r.rows[0]!.checked_at));
      return recorded;
    });
  }

  /** Takes the check's NIK for its registration unless someone holds it; answers the holder (maybe this one). */
  private async hold(client: pg.PoolClient, check: ClaimedCheck): Promise<string> {
    const taken = await client.query<{ registration_id: string }>(
      `INSERT INTO nik_holders (nik_index, registration_id, held_at) VALUES ($1, $2, now())
       ON CONFLICT (nik_index) DO NOTHING RETURNING registration_id`,
      [check.nikIndex, check.registrationId],
    );
    if (taken.rows[0]) return taken.rows[0].registration_id;
    // A new statement (READ COMMITTED): it sees the hold whose commit the insert waited for.
    const held = await client.query<{ registration_id: string }>(`SELECT registration_id FROM nik_holders WHERE nik_index = $1`, [check.nikIndex]);
    return held.rows[0]!.registration_id;
  }

  /**
   * What decides a check before any call, in one read: the registration holding its NIK (the one the
   * registry matched it for; holds are never released), and whether the intake rejected its
   * registration (decision 0024).
   */
  async standing(check: Pick<ClaimedCheck, 'registrationId' | 'nikIndex'>): Promise<{ holder?: string; rejectedByIntake: boolean }> {
    const r = await this.pool.query<{ holder: string | null; rejected: boolean }>(
      `SELECT (SELECT registration_id FROM nik_holders WHERE nik_index = $1) AS holder,
              EXISTS (SELECT 1 FROM intake_rejections WHERE registration_id = $2) AS rejected`,
      [check.nikIndex, check.registrationId],
    );
    const row = r.rows[0]!;
    return { ...(row.holder ? { holder: row.holder } : {}), rejectedByIntake: row.rejected };
  }

  /**
   * The intake rejected or expired these registrations (decision 0024): remembered, and their checks
   * not yet decided are dropped — no call leaves for them, a call in flight is not recorded (its
   * lease holder finds no row), no hold is taken. Answers how many checks were dropped.
   */
  async recordIntakeRejections(rejections: ReadonlyArray<{ registrationId: string; status: string; reason?: string }>): Promise<number> {
    if (rejections.length === 0) return 0;
    return inTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO intake_rejections (registration_id, status, reason)
         SELECT DISTINCT ON ("registrationId") "registrationId", status, reason FROM jsonb_to_recordset($1::jsonb) AS x("registrationId" uuid, status text, reason text)
         ON CONFLICT (registration_id) DO NOTHING`,
        [JSON.stringify(rejections)],
      );
      const r = await client.query(`DELETE FROM checks WHERE registration_id = ANY($1::uuid[]) AND state = 'queued'`, [
        [...new Set(rejections.map((x) => x.registrationId))],
      ]);
      return r.rowCount ?? 0;
    });
  }

  /** Drops one claimed check of a registration the intake rejected (found just before its call). */
  async dropRejected(check: ClaimedCheck): Promise<void> {
    await this.pool.query(`DELETE FROM checks WHERE registration_id = $1 AND attempt = $2 AND lease_id = $3 AND state = 'queued'`, [
      check.registrationId,
      check.attempt,
      check.leaseId,
    ]);
  }

  /**
   * Records, under the lease, that a call for this check is about to leave (decision 0024): false when
   * the lease was lost (then no call may leave). A crash after this and before the decision leaves a
   * call whose outcome is unknown; the next call carries the same call id.
   */
  async callStarting(check: ClaimedCheck): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE checks SET calls_started = calls_started + 1, call_started_at = now(), updated_at = now()
       WHERE registration_id = $1 AND attempt = $2 AND lease_id = $3 AND state = 'queued'`,
      [check.registrationId, check.attempt, check.leaseId],
    );
    return r.rowCount === 1;
  }

  /** The call did not decide (quota, outage, timeout…): back to the queue, due after `delayMs`. */
  async retryLater(check: ClaimedCheck, delayMs: number, error: string, counted: boolean): Promise<void> {
    await this.pool.query(
      `UPDATE checks SET next_attempt_at = now() + make_interval(secs => $4::float8 / 1000), last_error = $5,
         tries = tries + $6, lease_id = NULL, lease_until = NULL, updated_at = now()
       WHERE registration_id = $1 AND attempt = $2 AND lease_id = $3 AND state = 'queued'`,
      [check.registrationId, check.attempt, check.leaseId, delayMs, error, counted ? 1 : 0],
    );
  }

  /** Gives claimed rows back untouched (no call was made): shutdown, or the breaker opened meanwhile. */
  async release(checks: readonly ClaimedCheck[]): Promise<void> {
    if (checks.length === 0) return;
    await this.pool.query(
      `UPDATE checks c SET lease_id = NULL, lease_until = NULL, updated_at = now()
       FROM jsonb_to_recordset($1::jsonb) AS x("registrationId" uuid, attempt int, "leaseId" uuid)
       WHERE c.registration_id = x."registrationId" AND c.attempt = x.attempt AND c.lease_id = x."leaseId"`,
      [JSON.stringify(checks.map((c) => ({ registrationId: c.registrationId, attempt: c.attempt, leaseId: c.leaseId })))],
    );
  }

  /** After an outage: back-offs taken because the registry was down are waived (the quota still paces). */
  async waiveBackoff(errors: readonly string[]): Promise<number> {
    const r = await this.pool.query(
      `UPDATE checks SET next_attempt_at = now(), updated_at = now()
       WHERE state = 'queued' AND next_attempt_at > now() AND last_error = ANY($1::text[])`,
      [errors],
    );
    return r.rowCount ?? 0;
  }

  async latest(registrationId: string): Promise<CheckView | undefined> {
    const r = await this.pool.query(
      `SELECT registration_id, attempt, state, reason, correctable, checked_at FROM checks
       WHERE registration_id = $1 ORDER BY attempt DESC LIMIT 1`,
      [registrationId],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    return {
      registrationId: row.registration_id,
      attempt: row.attempt,
      state: row.state,
      reason: row.reason,
      correctable: row.correctable,
      checkedAt: row.checked_at,
    };
  }

  async backlog(): Promise<Backlog> {
    const r = await this.pool.query(
      `SELECT count(*)::int AS queued, count(*) FILTER (WHERE next_attempt_at <= now())::int AS due, min(requested_at) AS oldest
       FROM checks WHERE state = 'queued'`,
    );
    const row = r.rows[0]!;
    return { queued: row.queued, due: row.due, oldestQueuedAt: row.oldest };
  }
}
