import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';

/*
 * The floor for the capacity ratio: the intake's POST route with nothing behind it. Same Fastify
 * version, same JSON body parser and body limit (16 KiB), text/plain refused as in the intake, no
 * logging, no validation, no Redis, no Kafka.
 *   node dist/bare-server.js --port 3201 [--host 127.0.0.1]
 */
export function buildBareServer(): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 });
  app.removeContentTypeParser('text/plain');
  app.post('/v1/registrations', async (_req, reply) => reply.status(202).send({ registrationId: randomUUID(), status: 'pending_email_verification' }));
  return app;
}

if (require.main === module) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '3201' }, host: { type: 'string', default: '127.0.0.1' } } });
  const app = buildBareServer();
  app.listen({ port: Number(values.port), host: values.host }).then(
    (address) => process.stderr.write(`bare server on ${address}\n`),
    (err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void app.close().then(() => process.exit(0)));
}
