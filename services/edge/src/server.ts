import { serve, type App } from '@gelombang/platform';
import { loadEdgeConfig } from './config';
import { buildEdge } from './app';

// As every service: validate the configuration, build, listen with graceful shutdown (readiness 503, drain, close).
serve(
  () => loadEdgeConfig(),
  // The edge is a plain Fastify instance (no zod route schemas of its own); serve needs only its lifecycle.
  (config) => buildEdge(config) as unknown as Promise<App>,
  (app, config) => app.log.info({ corsOrigins: config.EDGE_CORS_ORIGINS }, 'edge configured'),
);
