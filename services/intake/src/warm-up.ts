import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { generateValidPerson } from '@gelombang/nik';
import type { App } from '@gelombang/platform';
import type { RegisterPorts } from './domain/register';

/*
 * A freshly started intake runs its request path in V8's interpreter until the JIT has seen it a few
 * thousand times: measured on two cores, the first one to two seconds of a 500/s surge against a cold
 * process answered with a p99 of 1.2–1.5 s, against ~40 ms once warm (docs/capacity.md). Registration
 * opens at a set hour, so a replica started for it would meet the surge cold. Before it listens,
 * `warmUp` sends the registration route a few thousand in-process requests (Fastify's inject: they never
 * touch a socket) that take the whole path — JSON parsing, validation, NIK rules, encryption, blind
 * indexes, event building, the reply — with dry-run ports: no claim is taken, nothing is published,
 * no counter or log line is written, and the rate limiter lets them by without spending a token.
 */

export const WARM_UP_HEADER = 'x-gelombang-warm-up';

export interface DryRun {
  /** A per-process secret: only in-process requests carrying it are dry runs. */
  token: string;
  ports: RegisterPorts;
}

export function dryRunPorts(ports: Pick<RegisterPorts, 'cipher'>, touchRedis: () => Promise<unknown>): DryRun {
  return {
    token: randomBytes(16).toString('hex'),
    ports: {
      cipher: ports.cipher,
      // A PING takes the Redis client's command path (as a claim would) and writes nothing.
      claim: async (input) => {
        await touchRedis().catch(() => undefined);
        return { kind: 'claimed', registrationId: input.registrationId };
      },
      complete: async () => undefined,
      markUncertain: async () => undefined,
      publish: async () => undefined,
    },
  };
}

/** True only for an in-process (inject) request carrying this process's token; never for one from the network. */
export function isDryRun(req: FastifyRequest, dryRun: DryRun | undefined): boolean {
  return dryRun !== undefined && '_lightMyRequest' in req.raw && req.headers[WARM_UP_HEADER] === dryRun.token;
}

/**
 * Sends `requests` dry-run registrations (every tenth invalid, so the refusal path warms too), `concurrency`
 * at a time. Returns how many were answered 202 and 4xx, for the boot log.
 */
export async function warmUp(
  app: App,
  dryRun: DryRun,
  o: { requests: number; today: Date; concurrency?: number },
): Promise<{ accepted: number; refused: number; ms: number }> {
  const started = Date.now();
  const concurrency = o.concurrency ?? 16;
  let accepted = 0;
  let refused = 0;
  const seedBase = randomBytes(4).readUInt32BE(0);
  for (let i = 0; i < o.requests; i += concurrency) {
    const wave = [];
    for (let j = i; j < Math.min(o.requests, i + concurrency); j++) {
      const person = generateValidPerson((seedBase + j) >>> 0, o.today);
      const body = {
        fullName: 'Warm Up',
        nik: person.nik,
        email: j % 10 === 9 ? 'not-an-email' : `warm.up.${j}@example.invalid`,
        phone: '081234567890',
        birthDate: person.birthDate,
      };
      wave.push(
        app
          .inject({
            method: 'POST',
            url: '/v1/registrations',
            headers: { 'content-type': 'application/json', [WARM_UP_HEADER]: dryRun.token },
            payload: JSON.stringify(body),
          })
          .then((res) => {
            if (res.statusCode === 202) accepted++;
            else refused++;
          }),
      );
    }
    await Promise.all(wave);
  }
  return { accepted, refused, ms: Date.now() - started };
}
