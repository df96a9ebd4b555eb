import { defineError } from '@gelombang/platform';

export const NIK_ALREADY_REGISTERED = defineError('NIK_ALREADY_REGISTERED', 409, {
  id: 'NIK ini sudah terdaftar. Satu NIK hanya untuk satu pendaftaran.',
  en: 'This NIK is already registered. One NIK allows one registration.',
});
export const EMAIL_ALREADY_REGISTERED = defineError('EMAIL_ALREADY_REGISTERED', 409, {
  id: 'Email ini sudah dipakai untuk pendaftaran lain.',
  en: 'This email is already used by another registration.',
});
export const IDEMPOTENCY_KEY_REUSED = defineError('IDEMPOTENCY_KEY_REUSED', 422, {
  id: 'Idempotency-Key ini sudah dipakai untuk data yang berbeda.',
  en: 'This Idempotency-Key was already used with a different body.',
});
export const IDEMPOTENCY_KEY_IN_PROGRESS = defineError('IDEMPOTENCY_KEY_IN_PROGRESS', 409, {
  id: 'Permintaan dengan Idempotency-Key ini masih diproses. Coba lagi sebentar.',
  en: 'A request with this Idempotency-Key is still being processed. Retry shortly.',
});
export const IDEMPOTENCY_KEY_INVALID = defineError('IDEMPOTENCY_KEY_INVALID', 400, {
  id: 'Idempotency-Key harus 1–255 karakter yang terlihat.',
  en: 'Idempotency-Key must be 1–255 visible characters.',
});
export const REGISTRATION_NOT_FOUND = defineError('REGISTRATION_NOT_FOUND', 404, {
  id: 'Pendaftaran tidak ditemukan.',
  en: 'Registration not found.',
});
