import type pg from 'pg';
import { inTransaction } from '@gelombang/platform';
import type { RegistrationSubmittedV1 } from '@gelombang/contracts';
import type { Notice, SubmissionsCount, VerificationState } from '../domain/verification';
import type { SealedIdentity } from '../domain/events';

export type Tx = pg.PoolClient;

export interface VerificationRow extends VerificationState, SealedIdentity {
  mailDueAt: Date | null;
}

/** A row handed to the mail sender: the sealed address is opened only in memory, right before sending. */
export interface ClaimedMail {
  registrationId: string;
  emailEnc: string;
  emailMasked: string;
  sendCount: number;
  mailFailures: number;
  /** What the mail is: a code mail (null), or the notice of this kind. */
  notice: Notice | null;
}

const COLUMNS = `registration_id, email_masked, code_hmac, expires_at, pending_code_hmac, pending_expires_at, failed_attempts, send_count,
  sent_at, window_started_at, window_sends, submissions_window_started_at, window_submissions, verified_at, mail_due_at, nik_enc, full_name_enc, birth_date_enc, nik_index, province_code, notice`;

function toRow(r: pg.QueryResultRow): VerificationRow {
  return {
    registrationId: r.registration_id,
    emailMasked: r.email_masked,
    codeHmac: r.code_hmac,
    expiresAt: r.expires_at,
    pendingCodeHmac: r.pending_code_hmac,
    pendingExpiresAt: r.pending_expires_at,
    failedAttempts: r.failed_attempts,
    sendCount: r.send_count,
    sentAt: r.sent_at,
    windowStartedAt: r.window_started_at,
    windowSends: r.window_sends,
    submissionsWindowStartedAt: r.submissions_window_started_at,
    windowSubmissions: r.window_submissions,
    verifiedAt: r.verified_at,
    notice: r.notice,
    mailDueAt: r.mail_due_at,
    nikEnc: r.nik_enc,
    fullNameEnc: r.full_name_enc,
    birthDateEnc: r.birth_date_enc,
    nikIndex: r.nik_index,
    provinceCode: r.province_code,
  };
}

export class VerificationsRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Stores a batch of submissions, idempotently. A registration already stored is a replay; one whose
   * address another live registration holds is a duplicate the intake rejects: nothing is stored for it.
   * A submission with a conflict is stored like any other, owing the notice of its kind (and holding
   * no address: the unique index leaves notices out), so it never counts as a duplicate.
   */
  async insertSubmitted(events: RegistrationSubmittedV1[]): Promise<{ stored: string[]; replays: string[]; duplicates: string[] }> {
    if (events.length === 0) return { stored: [], replays: [], duplicates: [] };
    const rows = events.map((e) => ({
      registration_id: e.data.registrationId,
      event_id: e.id,
      email_index: e.data.blindIndex.email,
      email_enc: e.data.pii.email,
      email_masked: e.data.emailMasked,
      nik_index: e.data.blindIndex.nik,
      nik_enc: e.data.pii.nik,
      full_name_enc: e.data.pii.fullName,
      birth_date_enc: e.data.pii.birthDate,
      province_code: e.data.provinceCode,
      submitted_at: e.data.submittedAt,
      notice: e.data.conflict ?? null,
    }));
    const names = `registration_id, event_id, email_index, email_enc, email_masked, nik_index, nik_enc, full_name_enc,
      birth_date_enc, province_code, submitted_at, notice`;
    // No conflict target: a replay hits the primary key, a duplicate the partial unique index; both are skipped.
    const inserted = await this.pool.query<{ registration_id: string }>(
      `INSERT INTO verifications (${names}, mail_due_at)
       SELECT ${names}, now() FROM jsonb_to_recordset($1::jsonb) AS x(registration_id uuid, event_id uuid, email_index text,
         email_enc text, email_masked text, nik_index text, nik_enc text, full_name_enc text, birth_date_enc text,
         province_code text, submitted_at timestamptz, notice text)
       ORDER BY submitted_at
       ON CONFLICT DO NOTHING RETURNING registration_id`,
      [JSON.stringify(rows)],
    );
    const stored = new Set(inserted.rows.map((r) => r.registration_id));
    const leftovers = [...new Set(rows.map((r) => r.registration_id).filter((id) => !stored.has(id)))];
    if (leftovers.length === 0) return { stored: [...stored], replays: [], duplicates: [] };
    const known = await this.pool.query<{ registration_id: string }>('SELECT registration_id FROM verifications WHERE registration_id = ANY($1::uuid[])', [
      leftovers,
    ]);
    const replays = new Set(known.rows.map((r) => r.registration_id));
    return { stored: [...stored], replays: [...replays], duplicates: leftovers.filter((id) => !replays.has(id)) };
  }

  async find(registrationId: string): Promise<VerificationRow | undefined> {
    const r = await this.pool.query(`SELECT ${COLUMNS} FROM verifications WHERE registration_id = $1 AND superseded_at IS NULL`, [registrationId]);
    return r.rows[0] ? toRow(r.rows[0]) : undefined;
  }

  async inTransaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn);
  }

  /** Locks the row for a decision (confirm, resend): concurrent guesses are counted one by one. */
  async lock(tx: Tx, registrationId: string): Promise<VerificationRow | undefined> {
    const r = await tx.query(`SELECT ${COLUMNS} FROM verifications WHERE registration_id = $1 AND superseded_at IS NULL FOR UPDATE`, [registrationId]);
    return r.rows[0] ? toRow(r.rows[0]) : undefined;
  }

  /** A wrong code counts against the code (failed_attempts) and against the registration's submissions window. */
  async recordWrongAttempt(tx: Tx, registrationId: string, submissions: SubmissionsCount): Promise<void> {
    await tx.query(
      `UPDATE verifications SET failed_attempts = failed_attempts + 1, submissions_window_started_at = $2, window_submissions = $3, updated_at = now()
       WHERE registration_id = $1`,
      [registrationId, submissions.startedAt, submissions.count],
    );
  }

  /** Never for a notice's registration (the domain does not ask; the statement refuses too, rolling the confirm back). */
  async markVerified(tx: Tx, registrationId: string, verifiedAt: Date): Promise<void> {
    const r = await tx.query(
      `UPDATE verifications SET verified_at = $2, code_hmac = NULL, pending_code_hmac = NULL, pending_expires_at = NULL, mail_due_at = NULL,
         updated_at = now()
       WHERE registration_id = $1 AND notice IS NULL`,
      [registrationId, verifiedAt],
    );
    if (r.rowCount !== 1) throw new Error('markVerified: no such registration, or it is owed a notice (no code verifies it)');
  }

  /**
   * The intake rejected these registrations after their submission, because the registry matched
   * another registration to their NIK (registration.status-changed.v1 rejected_duplicate/NIK_HELD):
   * each is owed the NIK_HELD notice, once, and its codes die at once (those out, and one being
   * mailed: the claim ends too, so that mail is not recorded and its code never works). A verified
   * one stays verified, and is mailed the notice too. Like any notice's registration it no longer
   * holds its address. Rows already owing a notice (born conflicted, or a replay) are left alone.
   */
  /** Expired registrations: their unverified verifications are superseded (404 from now on, no more mail). */
  async supersedeUnverified(registrationIds: string[]): Promise<number> {
    const r = await this.pool.query(
      `UPDATE verifications SET superseded_at = now(), mail_due_at = NULL, claim_token = NULL, updated_at = now()
       WHERE registration_id = ANY($1::uuid[]) AND verified_at IS NULL AND superseded_at IS NULL`,
      [registrationIds],
    );
    return r.rowCount ?? 0;
  }

  async oweNikHeldNotice(registrationIds: string[]): Promise<string[]> {
    if (registrationIds.length === 0) return [];
    const r = await this.pool.query<{ registration_id: string }>(
      `UPDATE verifications SET notice = 'NIK_HELD', code_hmac = NULL, expires_at = NULL,
         pending_code_hmac = NULL, pending_expires_at = NULL, pending_claim_token = NULL, failed_attempts = 0,
         mail_due_at = now(), mail_failures = 0, claim_token = NULL, updated_at = now()
       WHERE registration_id = ANY($1::uuid[]) AND notice IS NULL AND superseded_at IS NULL
       RETURNING registration_id`,
      [registrationIds],
    );
    return r.rows.map((x) => x.registration_id);
  }

  /** Kills the current code (and a pending one) and owes a new mail, which the sender sends within the quota. */
  async queueResend(tx: Tx, registrationId: string, window: { windowStartedAt: Date; windowSends: number }): Promise<void> {
    await tx.query(
      `UPDATE verifications SET code_hmac = NULL, expires_at = NULL, pending_code_hmac = NULL, pending_expires_at = NULL,
         failed_attempts = 0, mail_due_at = now(), mail_failures = 0,
         window_started_at = $2, window_sends = $3, updated_at = now()
       WHERE registration_id = $1`,
      [registrationId, window.windowStartedAt, window.windowSends],
    );
  }

  /**
   * A resend while a mail is still owed: kills a pending code left by a failed or abandoned send, but
   * not the code of a mail in flight (recorded under the live claim, lease running), which is the new
   * mail the resend asks for.
   */
  async dropLeftoverPending(tx: Tx, registrationId: string): Promise<void> {
    await tx.query(
      `UPDATE verifications SET pending_code_hmac = NULL, pending_expires_at = NULL, pending_claim_token = NULL, updated_at = now()
       WHERE registration_id = $1 AND pending_code_hmac IS NOT NULL
         AND NOT coalesce(pending_claim_token = claim_token AND mail_due_at > now(), false)`,
      [registrationId],
    );
  }

  /**
   * Claims up to `limit` due mails for one sender round: SKIP LOCKED lets replicas share the queue, and
   * moving mail_due_at past a lease means a sender that dies mid-round only delays those mails. A
   * verified registration is owed no mail, but for the notice of a later rejection (oweNikHeldNotice).
   */
  async claimDue(limit: number, leaseSec: number, claimToken: string): Promise<ClaimedMail[]> {
    const r = await this.pool.query(
      `WITH due AS (
         SELECT registration_id FROM verifications
         WHERE mail_due_at <= now() AND (verified_at IS NULL OR notice IS NOT NULL) AND superseded_at IS NULL
         ORDER BY mail_due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE verifications v SET mail_due_at = now() + make_interval(secs => $2), claim_token = $3, updated_at = now()
       FROM due WHERE v.registration_id = due.registration_id
       RETURNING v.registration_id, v.email_enc, v.email_masked, v.send_count, v.mail_failures, v.notice, v.created_at`,
      [limit, leaseSec, claimToken],
    );
    return r.rows
      .sort((a, b) => a.created_at - b.created_at)
      .map((x) => ({
        registrationId: x.registration_id,
        emailEnc: x.email_enc,
        emailMasked: x.email_masked,
        sendCount: x.send_count,
        mailFailures: x.mail_failures,
        notice: x.notice,
      }));
  }

  /**
   * Stores the HMAC of the code about to be mailed, before the SMTP send, so that a confirm arriving
   * the moment the mail lands finds it. Only under our claim, and only while a mail is owed: false
   * means the claim was lost (lease over, another sender took the row, or a rejection ended it) or the
   * address was verified meanwhile, and nothing must be sent. A pending code left by an earlier failed
   * send is replaced; the new code starts with all its attempts. `notice` is what the sender is about
   * to mail (as claimed): for a notice, the "code" is an unusable one (codes.ts), stored all the same
   * so that the row goes through the states of any other; a notice goes to a verified registration too.
   */
  async recordPending(registrationId: string, claimToken: string, notice: Notice | null, pending: { codeHmac: string; expiresAt: Date }): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE verifications SET pending_code_hmac = $3, pending_expires_at = $4, pending_claim_token = $2, failed_attempts = 0, updated_at = now()
       WHERE registration_id = $1 AND claim_token = $2 AND (verified_at IS NULL OR notice IS NOT NULL) AND superseded_at IS NULL
         AND notice IS NOT DISTINCT FROM $5`,
      [registrationId, claimToken, pending.codeHmac, pending.expiresAt, notice],
    );
    return r.rowCount === 1;
  }

  /**
   * Records a mail the provider accepted, with the event announcing it, in one transaction: its code,
   * stored as pending before the send, becomes the current code. False when the claim was lost
   * meanwhile (lease over, another sender took the row, or a resend killed the code): the newer state
   * wins. A registration verified while the mail was in flight (with that very code) is still recorded
   * as mailed, without a current code.
   */
  async markSent(
    registrationId: string,
    claimToken: string,
    sent: { codeHmac: string; sentAt: Date; expiresAt: Date },
    enqueue: (tx: Tx, sendCount: number) => Promise<void>,
  ): Promise<boolean> {
    return this.inTransaction(async (tx) => {
      // failed_attempts is not reset (recordPending did): wrong codes tried while the mail was in flight count.
      const r = await tx.query<{ send_count: number }>(
        `UPDATE verifications SET code_hmac = CASE WHEN verified_at IS NULL THEN $3 END,
           expires_at = CASE WHEN verified_at IS NULL THEN $5 ELSE expires_at END,
           sent_at = $4, send_count = send_count + 1, pending_code_hmac = NULL, pending_expires_at = NULL, pending_claim_token = NULL,
           mail_due_at = NULL, mail_failures = 0, claim_token = NULL, updated_at = now()
         WHERE registration_id = $1 AND claim_token = $2 AND (verified_at IS NOT NULL OR pending_code_hmac = $3)
         RETURNING send_count`,
        [registrationId, claimToken, sent.codeHmac, sent.sentAt, sent.expiresAt],
      );
      if (!r.rows[0]) return false;
      await enqueue(tx, r.rows[0].send_count);
      return true;
    });
  }

  /**
   * The provider refused or could not be reached: try again after `delayMs`. A pending code stays
   * acceptable (an error after DATA may still have delivered the mail) until the retry replaces it. A
   * registration verified meanwhile (with that pending code) is owed nothing: only the claim ends. A
   * notice is retried whether or not its registration is verified (a notice verifies nothing).
   */
  async markFailed(registrationId: string, claimToken: string, delayMs: number): Promise<void> {
    await this.pool.query(
      `UPDATE verifications SET
         mail_due_at = CASE WHEN verified_at IS NULL OR notice IS NOT NULL THEN now() + make_interval(secs => $3::double precision / 1000) END,
         mail_failures = CASE WHEN verified_at IS NULL OR notice IS NOT NULL THEN mail_failures + 1 ELSE mail_failures END,
         claim_token = NULL, updated_at = now()
       WHERE registration_id = $1 AND claim_token = $2`,
      [registrationId, claimToken, delayMs],
    );
  }

  /** Gives claimed but unsent rows back at once (graceful stop), instead of after the lease. */
  async release(claimToken: string): Promise<number> {
    const r = await this.pool.query(
      'UPDATE verifications SET mail_due_at = now(), claim_token = NULL, updated_at = now() WHERE claim_token = $1 AND mail_due_at IS NOT NULL',
      [claimToken],
    );
    return r.rowCount ?? 0;
  }

  /** Mails owed (due now or later: retries, leases). */
  async backlog(): Promise<number> {
    const r = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM verifications WHERE mail_due_at IS NOT NULL');
    return r.rows[0]!.n;
  }
}
