import fp from 'fastify-plugin';

/** A background loop (PollingWorker and its kind): the mail sender, the registry checker. */
export interface Worker {
  start(): void;
  stop(): Promise<void>;
  readonly isRunning: boolean;
}

export interface WorkerPluginOptions {
  /** The readiness check's name. */
  name: string;
  worker: Worker;
  /** Resources only this worker uses (an SMTP pool, an HTTP client), closed once it stopped. */
  close?: () => Promise<void> | void;
}

/**
 * Starts a worker and stops it on close — before the relay, the producer and the stores registered
 * earlier, since its last round may still write to them; readiness `name` while it runs.
 */
export const workerPlugin = fp<WorkerPluginOptions>(
  async (app, { name, worker: w, close }) => {
    w.start();
    app.readiness.add(name, async () => {
      if (!w.isRunning) throw new Error(`${name} stopped`);
    });
    app.addHook('onClose', async () => {
      await w.stop().catch((e: Error) => app.log.error({ errName: e.name, worker: name }, 'stopping a worker failed'));
      await close?.();
    });
  },
  { name: 'gelombang-worker', fastify: '5.x' },
);
