import fp from 'fastify-plugin';
import type pg from 'pg';
import type { BaseConfig } from '../config';
import { createPool, migrate, PLATFORM_MIGRATIONS_DIR } from '../postgres';

declare module 'fastify' {
  interface FastifyInstance {
    /** The service's pool; every connection's search_path is its own schema first. */
    pg: pg.Pool;
  }
}

export interface PostgresPluginOptions {
  config: Pick<BaseConfig, 'DATABASE_URL' | 'PG_POOL_MAX' | 'PG_CONNECT_TIMEOUT_MS' | 'PG_STATEMENT_TIMEOUT_MS' | 'PG_QUERY_TIMEOUT_MS'> & {
    PG_SCHEMA: string;
  };
  /**
   * 'required' (default): readiness fails while PostgreSQL does not answer. 'degraded': the service's
   * hot path does not need it (the intake API), so readiness stays 200 and lists it as degraded —
   * every replica leaving rotation at once would turn a database outage into a full one.
   */
  readiness?: 'required' | 'degraded';
  /** The service's own migrations; the platform's (the outbox table) run with them, ordered by name. */
  migrationsDir: string;
}

/**
 * Opens the service's PostgreSQL pool and migrates its schema before anything else is registered, adds
 * the `postgres` readiness check, and ends the pool on close — last of all, since everything closed
 * before it may still write (see decision 0015).
 */
export const postgresPlugin = fp<PostgresPluginOptions>(
  async (app, { config, migrationsDir, readiness = 'required' }) => {
    const base = { url: config.DATABASE_URL, schema: config.PG_SCHEMA, applicationName: app.serviceName };
    // Migrations on a connection of their own, without the request timeouts: a long one must finish.
    const migrating = createPool({ ...base, max: 1 });
    try {
      const applied = await migrate(migrating, config.PG_SCHEMA, [PLATFORM_MIGRATIONS_DIR, migrationsDir]);
      if (applied.length) app.log.info({ applied, schema: config.PG_SCHEMA }, 'migrations applied');
    } finally {
      await migrating.end();
    }
    const pool = createPool({
      ...base,
      max: config.PG_POOL_MAX,
      timeouts: { connectMs: config.PG_CONNECT_TIMEOUT_MS, statementMs: config.PG_STATEMENT_TIMEOUT_MS, queryMs: config.PG_QUERY_TIMEOUT_MS },
    });
    app.decorate('pg', pool);
    app.readiness.add('postgres', async () => void (await pool.query('SELECT 1')), { critical: readiness === 'required' });
    app.addHook('onClose', () => pool.end());
  },
  { name: 'gelombang-postgres', fastify: '5.x', dependencies: ['gelombang-health'] },
);
