import type pg from 'pg';
import { inTransaction } from '@gelombang/platform';
import type { RegistrationSubmittedV1 } from '@gelombang/contracts';
import type { Notice, SubmissionsCount, VerificationState } from '../domain/verification';
import type { SealedIdentity } from '../domain/events';
import type { Verdict } from '../domain/verdicts';

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
   * Stores a batch of submissions, idempotently (a registration already stored is a replay). Nothing
   * is mailed before the intake's projector has decided (decision 0024): a row waits, owing no mail,
   * until its verdict comes (`recordVerdicts`), unless the verdict came first and waits here. A
   * submission with a conflict was rejected by the intake already: it owes the notice of its kind at
   * once. Answers the ids stored, those that owe a notice, those still waiting, and the replays.
   */
  async insertSubmitted(events: RegistrationSubmittedV1[]): Promise<{ stored: string[]; notices: string[]; waiting: string[]; replays: string[] }> {
    if (events.length === 0) return { stored: [], notices: [], waiting: [], replays: [] };
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
    const ids = [...new Set(rows.map((r) => r.registration_id))].sort();
    return inTransaction(this.pool, async (tx) => {
      // The place-holder first: a verdict being written meanwhile makes this wait for its commit (and
      // then it is read below), or waits for this one (and then finds the row stored here).
      await tx.query(`INSERT INTO intake_verdicts (registration_id) SELECT unnest($1::uuid[]) ORDER BY 1 ON CONFLICT (registration_id) DO NOTHING`, [ids]);
      const inserted = await tx.query<{ registration_id: string; notice: string | null }>(
        `INSERT INTO verifications (${names}, mail_due_at)
         SELECT ${names}, CASE WHEN notice IS NOT NULL THEN now() END FROM jsonb_to_recordset($1::jsonb) AS x(registration_id uuid, event_id uuid,
           email_index text, email_enc text, email_masked text, nik_index text, nik_enc text, full_name_enc text, birth_date_enc text,
           province_code text, submitted_at timestamptz, notice text)
         ORDER BY submitted_at
         ON CONFLICT (registration_id) DO NOTHING RETURNING registration_id, notice`,
        [JSON.stringify(rows)],
      );
      const stored = inserted.rows.map((r) => r.registration_id);
      const decided = await this.applyVerdicts(
        tx,
        stored.filter((_, i) => inserted.rows[i]!.notice === null),
      );
      const storedSet = new Set(stored);
      const notices = [...inserted.rows.filter((r) => r.notice !== null).map((r) => r.registration_id), ...decided.noticed];
      const admitted = new Set([...decided.admitted, ...notices]);
      return {
        stored,
        notices,
        waiting: stored.filter((id) => !admitted.has(id)),
        replays: ids.filter((id) => !storedSet.has(id)),
      };
    });
  }

  /**
   * The projector's verdicts (registration.status-changed.v1): `accepted` (stored as the holder of its
   * address: its code is mailed now) or `rejected` with the notice it is owed. Kept, so that a verdict
   * arriving before its submission is applied when the submission comes; a rejection is final (an
   * acceptance never undoes it; a later rejection, NIK_HELD, replaces an earlier one's reason). Answers which rows were admitted or owe a notice now.
   */
  async recordVerdicts(verdicts: Verdict[]): Promise<{ admitted: string[]; noticed: string[] }> {
    if (verdicts.length === 0) return { admitted: [], noticed: [] };
    // One verdict per registration in a batch: a rejection wins.
    const byId = new Map<string, (typeof verdicts)[number]>();
    for (const v of verdicts) if (byId.get(v.registrationId)?.verdict !== 'rejected') byId.set(v.registrationId, v);
    const rows = [...byId.values()]
      .sort((a, b) => (a.registrationId < b.registrationId ? -1 : 1))
      .map((v) => ({ id: v.registrationId, status: v.verdict, reason: v.verdict === 'rejected' ? v.notice : null }));
    return inTransaction(this.pool, async (tx) => {
      await tx.query(
        `INSERT INTO intake_verdicts AS d (registration_id, status, reason, decided_at)
         SELECT id, status, reason, now() FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, status text, reason text) ORDER BY id
         ON CONFLICT (registration_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, decided_at = excluded.decided_at
           WHERE excluded.status = 'rejected' OR d.status IS DISTINCT FROM 'rejected'`,
        [JSON.stringify(rows)],
      );
      return this.applyVerdicts(
        tx,
        rows.map((r) => r.id),
      );
    });
  }

  /**
   * Applies the stored verdicts to these rows: an accepted one still waiting owes its code mail; a
   * rejected one owes the notice of its kind, once. An admitted row is rejected only by NIK_HELD (the
   * registry matched another registration to its NIK: the one rejection the intake makes after it
   * stored a registration; an address's verdict is given once, at the submission, and a restatement
   * of it changes nothing). The codes of a rejected row die at once (those out, and one
   * being mailed: the claim ends too, so that mail is not recorded and its code never works). A
   * verified one stays verified and is mailed the notice too. Like any notice's row it no longer
   * holds its address. Rows owing a notice already (born conflicted, or a replay) are left alone.
   */
  private async applyVerdicts(tx: Tx, ids: string[]): Promise<{ admitted: string[]; noticed: string[] }> {
    if (ids.length === 0) return { admitted: [], noticed: [] };
    const admitted = await tx.query<{ registration_id: string }>(
      `UPDATE verifications v SET admitted_at = now(), mail_due_at = now(), updated_at = now()
       FROM intake_verdicts d
       WHERE d.registration_id = v.registration_id AND v.registration_id = ANY($1::uuid[]) AND d.status = 'accepted'
         AND v.admitted_at IS NULL AND v.notice IS NULL AND v.superseded_at IS NULL
       RETURNING v.registration_id`,
      [ids],
    );
    const noticed = await tx.query<{ registration_id: string }>(
      `UPDATE verifications v SET notice = d.reason, code_hmac = NULL, expires_at = NULL,
         pending_code_hmac = NULL, pending_expires_at = NULL, pending_claim_token = NULL, failed_attempts = 0,
         mail_due_at = now(), mail_failures = 0, claim_token = NULL, updated_at = now()
       FROM intake_verdicts d
       WHERE d.registration_id = v.registration_id AND v.registration_id = ANY($1::uuid[]) AND d.status = 'rejected'
         AND v.notice IS NULL AND v.superseded_at IS NULL AND (v.admitted_at IS NULL OR d.reason = 'NIK_HELD')
       RETURNING v.registration_id`,
      [ids],
    );
    return { admitted: admitted.rows.map((r) => r.registration_id), noticed: noticed.rows.map((r) => r.registration_id) };
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

  /** Expired registrations: their unverified verifications are superseded (404 from now on, no more mail). */
  async supersedeUnverified(registrationIds: string[]): Promise<number> {
    const r = await this.pool.query(
      `UPDATE verifications SET superseded_at = now(), mail_due_at = NULL, claim_token = NULL, updated_at = now()
       WHERE registration_id = ANY($1::uuid[]) AND verified_at IS NULL AND superseded_at IS NULL`,
      [registrationIds],
    );
    return r.rowCount ?? 0;
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
   * verified registration is owed no mail, but for the notice of a later rejection (recordVerdicts).
   */
  async claimDue(limit: number, leaseSec: number, claimToken: string, cooldownSec: number): Promise<ClaimedMail[]> {
    await this.settleOrphanedSends(cooldownSec);
    const r = await this.pool.query(
      `WITH due AS (
         SELECT registration_id FROM verifications
         WHERE mail_due_at <= now() AND (verified_at IS NULL OR notice IS NOT NULL) AND superseded_at IS NULL
           AND NOT coalesce(pending_claim_token = claim_token, false)
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
   * A sender that died (SIGKILL, a lost machine) after storing a code under its claim may have had the
   * mail accepted by the provider too: its lease ran out with the pending code still recorded under
   * that claim. Decision 0024, at least once but never twice within the resend cooldown: the code is
   * taken as mailed — it becomes the current code (it works until it expires or a newer mail's code
   * replaces it), `sent_at` is when it was stored (the applicant's resend cooldown counts from there)
   * — and the mail is owed again no sooner than the cooldown after it. A registration verified
   * meanwhile (with that code) is owed nothing. Only rows in flight or orphaned are in the index.
   */
  private async settleOrphanedSends(cooldownSec: number): Promise<void> {
    await this.pool.query(
      `UPDATE verifications SET code_hmac = pending_code_hmac, expires_at = pending_expires_at, sent_at = pending_at,
         pending_code_hmac = NULL, pending_expires_at = NULL, pending_claim_token = NULL, claim_token = NULL,
         mail_due_at = CASE WHEN verified_at IS NULL OR notice IS NOT NULL THEN greatest(now(), pending_at + make_interval(secs => $1)) END,
         updated_at = now()
       WHERE pending_claim_token = claim_token AND mail_due_at <= now()`,
      [cooldownSec],
    );
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
      `UPDATE verifications SET pending_code_hmac = $3, pending_expires_at = $4, pending_claim_token = $2, pending_at = now(), failed_attempts = 0,
         updated_at = now()
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
