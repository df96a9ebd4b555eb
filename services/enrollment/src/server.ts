import { runService } from '@gelombang/platform';
import { loadEnrollmentConfig } from './config';
import { buildApp } from './app';

async function main() {
  const config = loadEnrollmentConfig();
  const app = await buildApp(config);
  await runService(app, {
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    drainMs: config.HTTP_SHUTDOWN_DRAIN_MS,
    timeoutMs: config.HTTP_SHUTDOWN_TIMEOUT_MS,
  });
}

main().catch((err) => {
  // Config errors are written plainly: they are read by a person at a terminal.
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
