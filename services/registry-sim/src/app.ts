import { counter, createService, type App, type ServiceBuildOptions } from '@gelombang/platform';
import type { RegistrySimConfig } from './config';
import { PopulationRegistry } from './domain/registry';
import { populationRoutes } from './routes/population';
import { simRoutes } from './routes/sim';

export interface BuildOptions extends Pick<ServiceBuildOptions, 'logStream'> {
  /** Tests pin the clock that decides quota seconds. */
  now?: () => number;
}

/**
 * The population-registry simulator (a stand-in for Dukcapil in development, tests and load runs; never
 * in production). Keeps everything in memory. Never listens (server.ts does).
 */
export async function buildApp(config: RegistrySimConfig, opts: BuildOptions = {}): Promise<App & { registry: PopulationRegistry }> {
  return (await createService(
    config,
    {
      service: 'registry-sim',
      description: 'Population-registry simulator: quota per wall-clock second, latency, injected faults',
      logStream: opts.logStream,
    },
    async (app) => {
      const answers = counter(app.metrics, 'registry_sim_calls_total', 'Verify calls by answer', ['answer']);
      const registry = new PopulationRegistry({
        mode: config.REGISTRY_MODE,
        quotaPerSec: config.REGISTRY_QUOTA_PER_SEC,
        latencyMs: config.REGISTRY_LATENCY_MS,
        ...(opts.now ? { now: opts.now } : {}),
      });
      app.decorate('registry', registry);
      await app.register(populationRoutes, { registry, token: config.REGISTRY_API_TOKEN, onAnswer: (answer) => answers.inc({ answer }) });
      await app.register(simRoutes, { registry, quotaPerSec: config.REGISTRY_QUOTA_PER_SEC, token: config.REGISTRY_API_TOKEN });
    },
  )) as App & { registry: PopulationRegistry };
}
