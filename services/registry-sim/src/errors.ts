import { defineError } from '@gelombang/platform';

export const REGISTRY_UNAUTHORIZED = defineError('REGISTRY_UNAUTHORIZED', 401, {
  id: 'Token API tidak ada atau salah.',
  en: 'The API token is missing or wrong.',
});
export const REGISTRY_QUOTA_EXCEEDED = defineError('REGISTRY_QUOTA_EXCEEDED', 429, {
  id: 'Kuota panggilan per detik terlampaui.',
  en: 'The per-second call quota is exceeded.',
});
export const REGISTRY_UNAVAILABLE = defineError('REGISTRY_UNAVAILABLE', 503, {
  id: 'Layanan data kependudukan sedang tidak tersedia.',
  en: 'The population registry is unavailable.',
});
