import closeWithGrace from 'close-with-grace';
import { stackFrames } from './errors';
import type { App } from './http';

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
