import type pg from 'pg';
import { enqueueEvents, inTransaction, rollbackWith, type OutboxMessage } from '@gelombang/platform';

export interface Enrollment {
  enrollmentId: string;
  registrationId: string;
  batchId: string;
  status: 'active' | 'withdrawn';
  enrolledAt: Date;
  endedAt: Date | null;
}

/** What one indexed read says about the person behind a registration. */
export type PersonState =
  { eligible: false } | { eligible: true; nikIndex: string; /** Active seats of this registration or of anyone with the same NIK. */ active: Enrollment[] };

export type EnrollResult =
  | { kind: 'enrolled'; enrolled: number; quota: number }
  /** The conditional UPDATE matched nothing; `why` is read in the same transaction (same now()). */
  | { kind: 'no_seat'; why: 'unknown' | 'not_open' | 'closed' | 'full' }
  /** A partial unique index refused the row: this registration or this person already holds a seat. */
  | { kind: 'taken'; by: 'registration' | 'person' };

type Events = readonly OutboxMessage[];

const COLUMNS = 'enrollment_id, registration_id, batch_id, status, enrolled_at, ended_at';
const toEnrollment = (r: pg.QueryResultRow): Enrollment => ({
  enrollmentId: r.enrollment_id,
  registrationId: r.registration_id,
  batchId: r.batch_id,
  status: r.status,
  enrolledAt: r.enrolled_at,
  endedAt: r.ended_at,
});

export class EnrollmentsRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Eligibility and every active seat of the person, in one point read (no lock, not the batch row). A
   * registration the intake rejected is not eligible, whatever the NIK check said (decision 0024).
   */
  async personState(registrationId: string): Promise<PersonState> {
    const r = await this.pool.query(
      `SELECT el.nik_index, en.enrollment_id, en.registration_id, en.batch_id, en.status, en.enrolled_at, en.ended_at
       FROM eligibility el
       LEFT JOIN enrollments en
         ON en.status = 'active' AND (en.registration_id = el.registration_id OR en.nik_index = el.nik_index)
       WHERE el.registration_id = $1 AND NOT EXISTS (SELECT 1 FROM intake_rejections j WHERE j.registration_id = el.registration_id)`,
      [registrationId],
    );
    if (r.rows.length === 0) return { eligible: false };
    return { eligible: true, nikIndex: r.rows[0].nik_index, active: r.rows.filter((x) => x.enrollment_id).map(toEnrollment) };
  }

  /**
   * Takes a seat: the enrollment row and its events first, the batch row's conditional increment
   * last, so the one lock every enrollment of this batch queues for is held for one statement and
   * the commit, and its holder never waits for anything else (no deadlock with the unique indexes).
   */
  async enroll(input: {
    enrollmentId: string;
    registrationId: string;
    nikIndex: string;
    batchId: string;
    enrolledAt: string;
    events: Events;
  }): Promise<EnrollResult> {
    return inTransaction(this.pool, async (client) => {
      try {
        await client.query(
          `INSERT INTO enrollments (enrollment_id, registration_id, nik_index, batch_id, status, enrolled_at)
           VALUES ($1, $2, $3, $4, 'active', $5)`,
          [input.enrollmentId, input.registrationId, input.nikIndex, input.batchId, input.enrolledAt],
        );
      } catch (e) {
        const err = e as { code?: string; constraint?: string };
        if (err.code === '23505')
          return rollbackWith<EnrollResult>({ kind: 'taken', by: err.constraint === 'enrollments_one_active_per_person' ? 'person' : 'registration' });
        if (err.code === '23503') return rollbackWith<EnrollResult>({ kind: 'no_seat', why: 'unknown' });
        throw e;
      }
      await enqueueEvents(client, input.events);
      const seat = await client.query<{ enrolled: number; quota: number }>(
        `UPDATE batches SET enrolled = enrolled + 1
         WHERE batch_id = $1 AND enrolled < quota AND opens_at <= now() AND now() < closes_at
         RETURNING enrolled, quota`,
        [input.batchId],
      );
      if (!seat.rows[0]) {
        const why = await client.query<{ why: 'unknown' | 'not_open' | 'closed' | 'full' }>(
          `SELECT CASE WHEN now() < opens_at THEN 'not_open' WHEN now() >= closes_at THEN 'closed' ELSE 'full' END AS why
           FROM batches WHERE batch_id = $1`,
          [input.batchId],
        );
        return rollbackWith({ kind: 'no_seat', why: why.rows[0]?.why ?? 'unknown' });
      }
      return { kind: 'enrolled', ...seat.rows[0] };
    });
  }

  /** Ends the registration's active seat and gives it back to the batch; undefined if none is active. */
  async withdraw(registrationId: string, endedAt: string, events: (e: Enrollment) => Events): Promise<Enrollment | undefined> {
    return inTransaction(this.pool, async (client) => {
      const r = await client.query(
        `UPDATE enrollments SET status = 'withdrawn', ended_at = $2
         WHERE registration_id = $1 AND status = 'active' RETURNING ${COLUMNS}`,
        [registrationId, endedAt],
      );
      if (!r.rows[0]) {
        return rollbackWith(undefined);
      }
      const ended = toEnrollment(r.rows[0]);
      await enqueueEvents(client, events(ended));
      await client.query('UPDATE batches SET enrolled = enrolled - 1 WHERE batch_id = $1', [ended.batchId]);
      return ended;
    });
  }

  /** The registration's active seat, or else its most recent one. */
  async latest(registrationId: string): Promise<Enrollment | undefined> {
    const r = await this.pool.query(`SELECT ${COLUMNS} FROM enrollments WHERE registration_id = $1 ORDER BY status = 'active' DESC, enrolled_at DESC LIMIT 1`, [
      registrationId,
    ]);
    return r.rows[0] ? toEnrollment(r.rows[0]) : undefined;
  }
}
