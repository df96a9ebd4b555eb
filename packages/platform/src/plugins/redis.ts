import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { BaseConfig } from '../config';
import { createRedis, redisReady } from '../redis';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
  }
}

export interface RedisPluginOptions {
  config: Pick<BaseConfig, 'REDIS_URL' | 'REDIS_COMMAND_TIMEOUT_MS'>;
  /** What the service does without Redis, said in the log when it is not there at start. */
  whenDown: string;
}

/**
 * Opens the Redis client (fails fast while Redis is away: see createRedis). Redis is a readiness
 * dependency of no service: without it each one degrades in the way its domain decides (`whenDown`),
 * it does not stop. Disconnected on close, after everything that may still use it.
 */
export const redisPlugin = fp<RedisPluginOptions>(
  async (app, { config, whenDown }) => {
    const client = createRedis({ url: config.REDIS_URL, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, name: app.serviceName });
    if (!(await redisReady(client, 2_000))) app.log.warn(`redis not reachable at start: ${whenDown}`);
    app.decorate('redis', client);
    app.addHook('onClose', async () => void client.disconnect());
  },
  { name: 'gelombang-redis', fastify: '5.x' },
);
