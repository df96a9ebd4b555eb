import { serve } from '@gelombang/platform';
import { loadRegistrySimConfig } from './config';
import { buildApp } from './app';

serve(
  () => loadRegistrySimConfig(),
  buildApp,
  (app, config) =>
    app.log.warn({ mode: config.REGISTRY_MODE, quotaPerSec: config.REGISTRY_QUOTA_PER_SEC }, 'population-registry SIMULATOR: never point production at it'),
);
