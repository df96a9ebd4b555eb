import { serve } from '@gelombang/platform';
import { loadEnrollmentConfig } from './config';
import { buildApp } from './app';

serve(() => loadEnrollmentConfig(), buildApp);
