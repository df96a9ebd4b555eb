import { defineError } from '@gelombang/platform';

/** The service behind a path did not answer (refused, reset, unknown host): nothing reached it. */
export const EDGE_UPSTREAM_UNAVAILABLE = defineError('EDGE_UPSTREAM_UNAVAILABLE', 503, {
  id: 'Layanan sedang tidak dapat dihubungi. Coba lagi sesaat lagi.',
  en: 'The service is unreachable right now. Try again in a moment.',
});

/** The service took longer than EDGE_UPSTREAM_TIMEOUT_MS: the request may or may not have been taken. */
export const EDGE_UPSTREAM_TIMEOUT = defineError('EDGE_UPSTREAM_TIMEOUT', 504, {
  id: 'Layanan tidak menjawab tepat waktu. Ulangi permintaan dengan Idempotency-Key yang sama.',
  en: 'The service did not answer in time. Repeat the request with the same Idempotency-Key.',
});

/** The connection to the service broke while it was answering: the request may or may not have been taken. */
export const EDGE_UPSTREAM_FAILED = defineError('EDGE_UPSTREAM_FAILED', 502, {
  id: 'Layanan gagal menjawab. Ulangi permintaan dengan Idempotency-Key yang sama.',
  en: 'The service failed while answering. Repeat the request with the same Idempotency-Key.',
});
