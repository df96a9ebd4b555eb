import type pg from 'pg';
import { inTransaction } from '@gelombang/platform';
import type { SignInState } from '../domain/sign-in';
import type { CountedWindow } from '../domain/window';

export type Tx = pg.PoolClient;

/** A sign-in request handed to the mail sender, with the verified registration holding the address, if any. */
export interface ClaimedSignIn extends SignInState {
  emailIndex: string;
  mailFailures: number;
  /** The verified, live registration of this address; null when there is none (nothing will be mailed). */
  verifiedRegistrationId: string | null;
  /** Its sealed address, opened only in memory right before sending. */
  emailEnc: string | null;
}

const STATE = `s.registration_id, s.code_hmac, s.expires_at, s.sent_at, s.sends_window_started_at, s.window_sends,
  s.attempts_window_started_at, s.window_failed_attempts`;

function toState(r: pg.QueryResultRow): SignInState {
  return {
    registrationId: r.registration_id,
    codeHmac: r.code_hmac,
    expiresAt: r.expires_at,
    sentAt: r.sent_at,
    sendsWindowStartedAt: r.sends_window_started_at,
    windowSends: r.window_sends,
    attemptsWindowStartedAt: r.attempts_window_started_at,
    windowFailedAttempts: r.window_failed_attempts,
  };
}

/** Sign-in requests and codes, one row per address's blind index (migration 0004). */
export class SignInsRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Owes the address a sign-in mail, if it may have one: one statement, the same for every address
   * (registered or not); the sender decides. A request while one is owed or in flight adds nothing.
   */
  async requestMail(emailIndex: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO sign_ins AS s (email_index, mail_due_at) VALUES ($1, now())
       ON CONFLICT (email_index) DO UPDATE SET mail_due_at = coalesce(s.mail_due_at, now()), updated_at = now()`,
      [emailIndex],
    );
  }

  async inTransaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn);
  }

  /**
   * Locks the address's row for a code check, creating it for an address never seen (the attempt limit
   * counts for unknown addresses as for registered ones). The live code counts only while its
   * registration is still verified and holds the address (a registration owed a notice holds none: it
   * was rejected).
   */
  async lockForCode(tx: Tx, emailIndex: string): Promise<SignInState> {
    await tx.query('INSERT INTO sign_ins (email_index) VALUES ($1) ON CONFLICT (email_index) DO NOTHING', [emailIndex]);
    const r = await tx.query(
      `SELECT ${STATE}, v.registration_id AS live_registration_id
       FROM sign_ins s LEFT JOIN verifications v
         ON v.registration_id = s.registration_id AND v.verified_at IS NOT NULL AND v.superseded_at IS NULL AND v.notice IS NULL
       WHERE s.email_index = $1 FOR UPDATE OF s`,
      [emailIndex],
    );
    const row = r.rows[0]!;
    return { ...toState(row), registrationId: row.live_registration_id };
  }

  /** A wrong (or no) code: counted in the address's attempts window. */
  async recordFailure(tx: Tx, emailIndex: string, failures: CountedWindow): Promise<void> {
    await tx.query('UPDATE sign_ins SET attempts_window_started_at = $2, window_failed_attempts = $3, updated_at = now() WHERE email_index = $1', [
      emailIndex,
      failures.startedAt,
      failures.count,
    ]);
  }

  /** A code signs in once: it dies with its use. */
  async consumeCode(tx: Tx, emailIndex: string): Promise<void> {
    await tx.query('UPDATE sign_ins SET code_hmac = NULL, expires_at = NULL, updated_at = now() WHERE email_index = $1', [emailIndex]);
  }

  /**
   * Claims up to `limit` undecided requests for one sender round (SKIP LOCKED, a lease as for the
   * verification mails), each with the verified registration holding the address, if any.
   */
  async claimDue(limit: number, leaseSec: number, claimToken: string): Promise<ClaimedSignIn[]> {
    const r = await this.pool.query(
      `WITH due AS (
         SELECT email_index FROM sign_ins WHERE mail_due_at <= now() ORDER BY mail_due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE sign_ins s SET mail_due_at = now() + make_interval(secs => $2), claim_token = $3, updated_at = now()
       FROM due LEFT JOIN verifications v
         ON v.email_index = due.email_index AND v.verified_at IS NOT NULL AND v.superseded_at IS NULL AND v.notice IS NULL
       WHERE s.email_index = due.email_index
       RETURNING s.email_index, s.mail_failures, ${STATE}, v.registration_id AS verified_registration_id, v.email_enc`,
      [limit, leaseSec, claimToken],
    );
    return r.rows.map((x) => ({
      ...toState(x),
      emailIndex: x.email_index,
      mailFailures: x.mail_failures,
      verifiedRegistrationId: x.verified_registration_id,
      emailEnc: x.email_enc,
    }));
  }

  /** Nothing is mailed for this request (unknown or unverified address, cooldown, limit): it is decided. */
  async drop(emailIndex: string, claimToken: string): Promise<void> {
    await this.pool.query('UPDATE sign_ins SET mail_due_at = NULL, claim_token = NULL, updated_at = now() WHERE email_index = $1 AND claim_token = $2', [
      emailIndex,
      claimToken,
    ]);
  }

  /**
   * Stores the HMAC of the code about to be mailed, before the send (a verify the moment the mail lands
   * finds it), replacing the code out; only under our claim: false means nothing must be sent.
   */
  async recordCode(emailIndex: string, claimToken: string, code: { registrationId: string; codeHmac: string; expiresAt: Date }): Promise<boolean> {
    const r = await this.pool.query(
      'UPDATE sign_ins SET registration_id = $3, code_hmac = $4, expires_at = $5, updated_at = now() WHERE email_index = $1 AND claim_token = $2',
      [emailIndex, claimToken, code.registrationId, code.codeHmac, code.expiresAt],
    );
    return r.rowCount === 1;
  }

  /** The provider accepted the mail: the request is done, and the mail counts in the address's window. */
  async markSent(emailIndex: string, claimToken: string, sentAt: Date, sends: CountedWindow): Promise<void> {
    await this.pool.query(
      `UPDATE sign_ins SET sent_at = $3, sends_window_started_at = $4, window_sends = $5, mail_due_at = NULL, mail_failures = 0, claim_token = NULL,
         updated_at = now()
       WHERE email_index = $1 AND claim_token = $2`,
      [emailIndex, claimToken, sentAt, sends.startedAt, sends.count],
    );
  }

  /** The provider refused or could not be reached: try again after `delayMs` (the stored code stays: it may have been delivered). */
  async markFailed(emailIndex: string, claimToken: string, delayMs: number): Promise<void> {
    await this.pool.query(
      `UPDATE sign_ins SET mail_due_at = now() + make_interval(secs => $3::double precision / 1000), mail_failures = mail_failures + 1,
         claim_token = NULL, updated_at = now()
       WHERE email_index = $1 AND claim_token = $2`,
      [emailIndex, claimToken, delayMs],
    );
  }

  /** Gives claimed but undecided requests back at once (graceful stop). */
  async release(claimToken: string): Promise<number> {
    const r = await this.pool.query(
      'UPDATE sign_ins SET mail_due_at = now(), claim_token = NULL, updated_at = now() WHERE claim_token = $1 AND mail_due_at IS NOT NULL',
      [claimToken],
    );
    return r.rowCount ?? 0;
  }

  /** Requests not decided yet (due now, or waiting for a retry or a lease). */
  async backlog(): Promise<number> {
    const r = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sign_ins WHERE mail_due_at IS NOT NULL');
    return r.rows[0]!.n;
  }
}
