import { serve } from '@gelombang/platform';
import { loadEmailConfig } from './config';
import { buildApp } from './app';

serve(() => loadEmailConfig(), buildApp);
