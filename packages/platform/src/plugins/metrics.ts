import fp from 'fastify-plugin';
import { collectDefaultMetrics, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}

/** The service's Prometheus registry (every sample labelled with the service) and `/metrics`. */
export const metricsPlugin = fp<{ service: string }>(
  async (app, opts) => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: opts.service });
    collectDefaultMetrics({ register: registry });
    app.decorate('metrics', registry);
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'gelombang-metrics', fastify: '5.x' },
);
