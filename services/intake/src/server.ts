import { serve } from '@gelombang/platform';
import { loadIntakeConfig } from './config';
import { buildApp } from './app';

serve(() => loadIntakeConfig(), buildApp);
