import { z } from 'zod';
import { baseEnv, loadConfig } from '@gelombang/platform';

/** The simulator needs no datastore: only the HTTP keys of the shared environment. */
export const registrySimEnv = z.object({
  NODE_ENV: baseEnv.NODE_ENV,
  LOG_LEVEL: baseEnv.LOG_LEVEL,
  HTTP_HOST: baseEnv.HTTP_HOST,
  HTTP_PORT: baseEnv.HTTP_PORT.default(3090),
  HTTP_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024)
    .describe('Largest request body accepted, in bytes (a bulk load of people comes in one body); a larger one is answered 413.'),
  HTTP_SHUTDOWN_DRAIN_MS: baseEnv.HTTP_SHUTDOWN_DRAIN_MS,
  HTTP_SHUTDOWN_TIMEOUT_MS: baseEnv.HTTP_SHUTDOWN_TIMEOUT_MS,
  REGISTRY_API_TOKEN: z
    .string({ error: 'is required' })
    .min(8, 'must be at least 8 characters')
    .describe('Bearer token callers must present on /v1/population/verify, at least 8 characters.'),
  REGISTRY_QUOTA_PER_SEC: z.coerce
    .number()
    .int()
    .positive()
    .default(100)
    .describe('Calls answered per wall-clock second; the rest get 429 and are counted as over quota.'),
  REGISTRY_LATENCY_MS: z.coerce.number().int().min(0).default(20).describe('Milliseconds every answer is delayed; a random 0–25 % is added on top.'),
  REGISTRY_MODE: z.enum(['open', 'strict']).default('open').describe('Who exists: strict, only loaded people; open, also any valid NIK whose date matches.'),
});

export type RegistrySimConfig = z.infer<typeof registrySimEnv>;

export function loadRegistrySimConfig(env: NodeJS.ProcessEnv = process.env): RegistrySimConfig {
  return loadConfig(registrySimEnv, env);
}
