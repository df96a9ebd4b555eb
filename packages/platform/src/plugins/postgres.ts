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
  config: Pick<BaseConfig, 'DATABASE_URL' | 'PG_POOL_MAX'> & { PG_SCHEMA: string };
  /** The service's own migrations; the platform's (the outbox table) run with them, ordered by name. */
  migrationsDir: string;
}

/**
 * Opens the service's PostgreSQL pool and migrates its schema before anything else is registered, adds
 * the `postgres` readiness check, and ends the pool on close — last of all, since everything closed
 * before it may still write (see decision 0015).
 */
export const postgresPlugin = fp<PostgresPluginOptions>(
  async (app, { config, migrationsDir }) => {
    const pool = createPool({ url: config.DATABASE_URL, schema: config.PG_SCHEMA, max: config.PG_POOL_MAX, applicationName: app.serviceName });
    try {
      const applied = await migrate(pool, config.PG_SCHEMA, [PLATFORM_MIGRATIONS_DIR, migrationsDir]);
      if (applied.length) app.log.info({ applied, schema: config.PG_SCHEMA }, 'migrations applied');
    } catch (e) {
      await pool.end();
      throw e;
    }
    app.decorate('pg', pool);
    app.readiness.add('postgres', async () => void (await pool.query('SELECT 1')));
    app.addHook('onClose', () => pool.end());
  },
  { name: 'gelombang-postgres', fastify: '5.x', dependencies: ['gelombang-health'] },
);
