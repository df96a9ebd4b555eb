import type pg from 'pg';
import type { BatchDefinition } from '../domain/batch-window';

export interface BatchRow extends BatchDefinition {
  enrolled: number;
}

const COLUMNS = 'batch_id, name, quota, enrolled, opens_at, closes_at';

const toRow = (r: pg.QueryResultRow): BatchRow => ({
  batchId: r.batch_id,
  name: r.name,
  quota: r.quota,
  enrolled: r.enrolled,
  opensAt: r.opens_at,
  closesAt: r.closes_at,
});

export class BatchesRepository {
  /** Definitions never change once created, so a replica keeps each one it has seen. */
  private readonly definitions = new Map<string, BatchDefinition>();

  constructor(private readonly pool: pg.Pool) {}

  /** A batch's definition: from memory once this replica has seen it, else one read. */
  async definition(batchId: string): Promise<BatchDefinition | undefined> {
    const known = this.definitions.get(batchId);
    if (known) return known;
    const row = await this.find(batchId);
    if (row) this.remember(row);
    return row;
  }

  /** Keeps a definition read or written elsewhere (the batch routes), to warm the enrollment path. */
  remember(d: BatchDefinition): void {
    this.definitions.set(d.batchId, { batchId: d.batchId, name: d.name, quota: d.quota, opensAt: d.opensAt, closesAt: d.closesAt });
  }

  /** Inserts the batch unless the id exists; returns the stored row and whether this call created it. */
  async create(def: BatchDefinition): Promise<{ created: boolean; row: BatchRow }> {
    const inserted = await this.pool.query(
      `INSERT INTO batches (batch_id, name, quota, opens_at, closes_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (batch_id) DO NOTHING RETURNING ${COLUMNS}`,
      [def.batchId, def.name, def.quota, def.opensAt, def.closesAt],
    );
    if (inserted.rows[0]) return { created: true, row: toRow(inserted.rows[0]) };
    return { created: false, row: (await this.find(def.batchId))! };
  }

  /** A plain MVCC read: it never waits for the enrollments holding the batch row's lock. */
  async find(batchId: string): Promise<BatchRow | undefined> {
    const r = await this.pool.query(`SELECT ${COLUMNS} FROM batches WHERE batch_id = $1`, [batchId]);
    return r.rows[0] ? toRow(r.rows[0]) : undefined;
  }

  async listOpen(): Promise<BatchRow[]> {
    const r = await this.pool.query(`SELECT ${COLUMNS} FROM batches WHERE opens_at <= now() AND now() < closes_at ORDER BY opens_at, batch_id`);
    return r.rows.map(toRow);
  }

  /** Seats left in batches not yet closed (the metrics gauge). */
  async seatsLeft(): Promise<Array<{ batchId: string; seatsLeft: number }>> {
    const r = await this.pool.query(`SELECT batch_id, quota - enrolled AS seats_left FROM batches WHERE now() < closes_at`);
    return r.rows.map((x) => ({ batchId: x.batch_id, seatsLeft: x.seats_left }));
  }
}
