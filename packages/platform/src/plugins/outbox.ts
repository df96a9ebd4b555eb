import fp from 'fastify-plugin';
import { OutboxRelay } from '../outbox';
import { outboxMetrics } from './metrics';

declare module 'fastify' {
  interface FastifyInstance {
    /** Publishes what the service's transactions put in its outbox; `wake()` after such a commit. */
    outbox: OutboxRelay;
  }
}

export interface OutboxPluginOptions {
  onPublished?: (count: number) => void;
}

/**
 * Starts the outbox relay (every replica runs one: SKIP LOCKED shares the rows); readiness `outbox`
 * while it runs. On close it stops and publishes once more what committed meanwhile, after the
 * workers and consumers registered later (they enqueue events) and before the producer closes.
 */
export const outboxPlugin = fp<OutboxPluginOptions>(
  async (app, opts) => {
    const relay = new OutboxRelay(app.pg, app.producer, { logger: app.log, ...(opts.onPublished ? { onPublished: opts.onPublished } : {}) });
    // The hook first: once started, the loop is stopped on close whatever happens after.
    app.addHook('onClose', async () => {
      await relay.stop();
      await relay.publishOnce().catch((e: Error) => app.log.warn({ errName: e.name }, 'last outbox round failed; the rows stay for the next relay'));
    });
    relay.start();
    app.decorate('outbox', relay);
    outboxMetrics(app.metrics, app.pg);
    app.readiness.add('outbox', async () => {
      if (!relay.isRunning) throw new Error('outbox relay stopped');
    });
  },
  { name: 'gelombang-outbox', fastify: '5.x', dependencies: ['gelombang-postgres', 'gelombang-kafka'] },
);
