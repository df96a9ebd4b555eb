import { runService } from '@gelombang/platform';
import { loadEdgeConfig } from './config';
import { buildEdge } from './app';

// As every service's server.ts (platform `serve`): validate the configuration, build, listen with graceful shutdown.
(async () => {
  const config = loadEdgeConfig();
  const app = await buildEdge(config);
  app.log.info({ routes: config.EDGE_CORS_ORIGINS.length, corsOrigins: config.EDGE_CORS_ORIGINS }, 'edge configured');
  await runService(app as never, {
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    drainMs: config.HTTP_SHUTDOWN_DRAIN_MS,
    timeoutMs: config.HTTP_SHUTDOWN_TIMEOUT_MS,
  });
})().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
