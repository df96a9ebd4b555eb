import closeWithGrace from 'close-with-grace';
import { stackFrames } from './errors';
import type { App } from './http';
import type { BaseConfig } from './config';

export interface RunOptions {
  host: string;
  port: number;
  /** Keep answering (readiness 503) this long before closing, so a balancer stops sending. */
  drainMs: number;
  timeoutMs: number;
}

/**
 * Listens and wires graceful shutdown: on SIGTERM/SIGINT readiness turns 503, the drain delay passes,
 * then `app.close()` runs every plugin's onClose (consumers stop, producers flush, pools end).
 */
export async function runService(app: App, opts: RunOptions): Promise<void> {
  closeWithGrace({ delay: opts.timeoutMs + opts.drainMs }, async ({ signal, err }) => {
    if (err) app.log.error({ errName: err.name, stack: stackFrames(err) }, 'fatal error, shutting down');
    else app.log.info({ signal }, 'shutting down');
    app.readiness.drain();
    if (opts.drainMs > 0) await new Promise((r) => setTimeout(r, opts.drainMs));
    await app.close();
  });
  await app.listen({ host: opts.host, port: opts.port });
}

type HttpSettings = Pick<BaseConfig, 'HTTP_HOST' | 'HTTP_PORT' | 'HTTP_SHUTDOWN_DRAIN_MS' | 'HTTP_SHUTDOWN_TIMEOUT_MS'>;

/**
 * A service's whole `server.ts`: validate the configuration, build the app, listen with graceful
 * shutdown. A configuration error (or any failure before listening) is written plainly to stderr —
 * it is read by a person at a terminal — and the process exits 1.
 */
export function serve<C extends HttpSettings>(loadConfig: () => C, build: (config: C) => Promise<App>, onBuilt?: (app: App, config: C) => void): void {
  (async () => {
    const config = loadConfig();
    const app = await build(config);
    onBuilt?.(app, config);
    await runService(app, {
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      drainMs: config.HTTP_SHUTDOWN_DRAIN_MS,
      timeoutMs: config.HTTP_SHUTDOWN_TIMEOUT_MS,
    });
  })().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
