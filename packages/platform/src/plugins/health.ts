import fp from 'fastify-plugin';

type Check = () => Promise<void>;

export interface CheckOptions {
  /**
   * false: a failing check is reported (`degraded: …`, overall status `degraded`) but readiness stays
   * 200 — for a dependency the service's main path can do without. Default true.
   */
  critical?: boolean;
}

/** A check that has not answered after this long has failed: a probe must not hang with a hung datastore. */
export const READINESS_CHECK_TIMEOUT_MS = 2_000;

/** What `/health/ready` asks: every plugin that opens a dependency adds its check. */
export interface ReadinessRegistry {
  add(name: string, check: Check, opts?: CheckOptions): void;
  /** Makes readiness answer 503 from now on (graceful shutdown). */
  drain(): void;
  readonly draining: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: ReadinessRegistry;
  }
}

/**
 * `/health/live` (the process answers) and `/health/ready` (every registered check passes, and the
 * service is not draining): a balancer sends traffic only while ready. Each check's result is listed by
 * name, never its error's message (it may carry an address or a value).
 */
export const healthPlugin = fp(
  async (app) => {
    const checks = new Map<string, { check: Check; critical: boolean }>();
    let draining = false;
    app.decorate('readiness', {
      add: (name, check, opts) => void checks.set(name, { check, critical: opts?.critical ?? true }),
      drain: () => void (draining = true),
      get draining() {
        return draining;
      },
    } satisfies ReadinessRegistry);

    app.get('/health/live', { schema: { hide: true } }, async () => ({ status: 'ok' }));
    app.get('/health/ready', { schema: { hide: true } }, async (_req, reply) => {
      if (draining) return reply.status(503).send({ status: 'draining', checks: {} });
      const results: Record<string, string> = {};
      let ok = true;
      let degraded = false;
      await Promise.all(
        [...checks].map(async ([name, { check, critical }]) => {
          let timer: NodeJS.Timeout | undefined;
          try {
            await Promise.race([
              check(),
              new Promise((_, reject) => {
                timer = setTimeout(() => reject(Object.assign(new Error('check timed out'), { name: 'Timeout' })), READINESS_CHECK_TIMEOUT_MS);
              }),
            ]);
            results[name] = 'ok';
          } catch (e) {
            if (critical) ok = false;
            else degraded = true;
            results[name] = `${critical ? 'fail' : 'degraded'}: ${(e as Error)?.name ?? 'error'}`;
          } finally {
            clearTimeout(timer);
          }
        }),
      );
      const status = !ok ? 'unavailable' : degraded ? 'degraded' : 'ok';
      return reply.status(ok ? 200 : 503).send({ status, checks: results });
    });
  },
  { name: 'gelombang-health', fastify: '5.x' },
);
