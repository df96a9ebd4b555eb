import { runService } from '@gelombang/platform';
import { loadRegistrySimConfig } from './config';
import { buildApp } from './app';

async function main() {
  const config = loadRegistrySimConfig();
  const app = await buildApp(config);
  app.log.warn({ mode: config.REGISTRY_MODE, quotaPerSec: config.REGISTRY_QUOTA_PER_SEC }, 'population-registry SIMULATOR: never point production at it');
  await runService(app, {
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    drainMs: config.HTTP_SHUTDOWN_DRAIN_MS,
    timeoutMs: config.HTTP_SHUTDOWN_TIMEOUT_MS,
  });
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
