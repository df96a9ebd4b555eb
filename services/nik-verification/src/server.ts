import { serve } from '@gelombang/platform';
import { loadNikConfig } from './config';
import { buildApp } from './app';

serve(() => loadNikConfig(), buildApp);
