import fp from 'fastify-plugin';

type Check = () => Promise<void>;

/** What `/health/ready` asks: every plugin that opens a dependency adds its check. */
export interface ReadinessRegistry {
  add(name: string, check: Check): void;
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
    const checks = new Map<string, Check>();
    let draining = false;
    app.decorate('readiness', {
      add: (name, check) => void checks.set(name, check),
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
      await Promise.all(
        [...checks].map(async ([name, check]) => {
          try {
            await check();
            results[name] = 'ok';
          } catch (e) {
            ok = false;
            results[name] = `fail: ${(e as Error)?.name ?? 'error'}`;
          }
        }),
      );
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: results });
    });
  },
  { name: 'gelombang-health', fastify: '5.x' },
);
