import { serve } from '@gelombang/platform';
import { loadIntakeConfig } from './config';
import { buildApp } from './app';

// Warmed before it listens: a replica started for registration's opening hour meets the surge at full speed.
serve(
  () => loadIntakeConfig(),
  (config) => buildApp(config, { warmUpRequests: config.INTAKE_WARMUP_REQUESTS }),
);
