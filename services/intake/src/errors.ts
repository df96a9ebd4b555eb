import { defineError } from '@gelombang/platform';

export const INTAKE_NIK_ALREADY_REGISTERED = defineError('INTAKE_NIK_ALREADY_REGISTERED', 409, {
  id: 'NIK ini sudah terdaftar. Satu NIK hanya untuk satu pendaftaran.',
  en: 'This NIK is already registered. One NIK allows one registration.',
});
export const INTAKE_EMAIL_ALREADY_REGISTERED = defineError('INTAKE_EMAIL_ALREADY_REGISTERED', 409, {
  id: 'Email ini sudah dipakai untuk pendaftaran lain.',
  en: 'This email is already used by another registration.',
});
export const INTAKE_IDEMPOTENCY_KEY_REUSED = defineError('INTAKE_IDEMPOTENCY_KEY_REUSED', 422, {
  id: 'Idempotency-Key ini sudah dipakai untuk data yang berbeda.',
  en: 'This Idempotency-Key was already used with a different body.',
});
export const INTAKE_IDEMPOTENCY_KEY_IN_PROGRESS = defineError('INTAKE_IDEMPOTENCY_KEY_IN_PROGRESS', 409, {
  id: 'Permintaan dengan Idempotency-Key ini masih diproses. Coba lagi sebentar.',
  en: 'A request with this Idempotency-Key is still being processed. Retry shortly.',
});
export const INTAKE_IDEMPOTENCY_KEY_INVALID = defineError('INTAKE_IDEMPOTENCY_KEY_INVALID', 400, {
  id: 'Idempotency-Key harus 1–255 karakter yang terlihat.',
  en: 'Idempotency-Key must be 1–255 visible characters.',
});
export const INTAKE_REGISTRATION_NOT_FOUND = defineError('INTAKE_REGISTRATION_NOT_FOUND', 404, {
  id: 'Pendaftaran tidak ditemukan.',
  en: 'Registration not found.',
});
export const INTAKE_NIK_CORRECTION_NOT_ALLOWED = defineError('INTAKE_NIK_CORRECTION_NOT_ALLOWED', 409, {
  id: 'NIK hanya dapat diperbaiki setelah ditolak oleh pemeriksaan Dukcapil.',
  en: 'A NIK can be corrected only after the population registry check rejected it.',
});
export const INTAKE_NIK_NOT_CORRECTABLE = defineError('INTAKE_NIK_NOT_CORRECTABLE', 409, {
  id: 'NIK ini tercatat tidak aktif di Dukcapil; perbaikan tidak dapat membantu. Hubungi Dukcapil setempat.',
  en: 'The registry lists this NIK as inactive; a correction cannot help. Contact your local civil registry office.',
});
export const INTAKE_NIK_CORRECTION_LIMIT_REACHED = defineError('INTAKE_NIK_CORRECTION_LIMIT_REACHED', 409, {
  id: 'Batas perbaikan NIK sudah tercapai.',
  en: 'The limit of NIK corrections has been reached.',
});
export const INTAKE_NIK_CORRECTION_UNCHANGED = defineError('INTAKE_NIK_CORRECTION_UNCHANGED', 409, {
  id: 'NIK yang dikirim sama dengan NIK yang ditolak.',
  en: 'The NIK sent is the one that was rejected.',
});
