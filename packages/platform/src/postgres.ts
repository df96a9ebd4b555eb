import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { connectionLost } from './unavailable';

/**
 * How long PostgreSQL may take. A refused server fails at once; a hung one (stopped, a black-holed
 * network) would otherwise hold a request forever: `connectMs` bounds getting a connection (and
 * waiting for a free one from a full pool), `statementMs` is the server's statement_timeout, `queryMs`
 * the client's own deadline for any answer (a server that does not answer cannot cancel anything).
 */
export interface PoolTimeouts {
  connectMs: number;
  statementMs: number;
  queryMs: number;
}

/** A pool whose connections use `schema` first, so SQL never spells the schema name. */
export function createPool(opts: { url: string; schema: string; max: number; applicationName: string; timeouts?: PoolTimeouts }): pg.Pool {
  assertIdentifier(opts.schema);
  const t = opts.timeouts;
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max,
    application_name: opts.applicationName,
    options: `-c search_path=${opts.schema},public${t ? ` -c statement_timeout=${t.statementMs}` : ''}`,
    connectionTimeoutMillis: t?.connectMs ?? 5_000,
    ...(t ? { query_timeout: t.queryMs } : {}),
    // A peer that vanished (host down, network cut) is noticed on idle connections too.
    keepAlive: true,
  });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor a checked-out one's: pg emits 'error' on a client whose connection dies while a caller holds it
  // (inTransaction, migrate), and pg-pool listens only while it is idle. Its queries reject anyway, and
  // the pool drops a client that is no longer queryable when it comes back.
  pool.on('connect', (client) => void client.on('error', () => undefined));
  return pool;
}

export function assertIdentifier(name: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`"${name}" is not a safe SQL identifier`);
}

/** Migrations every service that uses the transactional outbox adds to its own (`0000_platform_*`). */
export const PLATFORM_MIGRATIONS_DIR = join(__dirname, '..', 'migrations');

/**
 * Applies `dir/NNNN_name.sql` files (from one directory or several, ordered by file name) inside `schema`, each in its own transaction, recording
 * them in `<schema>.schema_migrations`. An advisory lock keeps two starting replicas from racing.
 * A runner of a few lines instead of a tool: see docs/decisions/0004-migrations.md.
 */
export async function migrate(pool: pg.Pool, schema: string, dirs: string | string[]): Promise<string[]> {
  assertIdentifier(schema);
  const found = new Map<string, string>();
  for (const dir of Array.isArray(dirs) ? dirs : [dirs]) {
    for (const f of (await readdir(dir)).filter((n) => /^\d{4}_[\w-]+\.sql$/.test(n))) {
      if (found.has(f)) throw new Error(`migration ${f} exists in two directories`);
      found.set(f, join(dir, f));
    }
  }
  const files = [...found.keys()].sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query(`SELECT version FROM ${schema}.schema_migrations`)).rows.map((r) => r.version));
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(found.get(file)!, 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${schema}`);
        await client.query(sql);
        await client.query(`INSERT INTO ${schema}.schema_migrations(version) VALUES ($1)`, [file]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${schema}/${file} failed: ${(e as Error).message}`, { cause: e });
      }
      applied.push(file);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`migrate:${schema}`]).catch(() => undefined);
    client.release();
  }
  return applied;
}

/** What `inTransaction`'s work returns to roll back instead of committing, with the value to hand back. */
export class RollbackWith<T> {
  constructor(readonly value: T) {}
}
export const rollbackWith = <T>(value: T): RollbackWith<T> => new RollbackWith(value);

/**
 * Runs `work` in one transaction on one pooled client: COMMIT when it returns, ROLLBACK when it throws
 * (the error goes on) or returns `rollbackWith(value)` (the value is returned). The client always goes
 * back to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T | RollbackWith<T>>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const out = await work(client);
    if (out instanceof RollbackWith) {
      await client.query('ROLLBACK');
      return out.value;
    }
    await client.query('COMMIT');
    return out;
  } catch (e) {
    // A connection that dropped or stopped answering is thrown away, not handed to the next caller
    // (a ROLLBACK on it would only wait for the query timeout once more).
    broken = connectionLost(e);
    if (!broken) await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release(broken);
  }
}
