import { defineError } from '@gelombang/platform';

export const ENROLLMENT_BATCH_NOT_FOUND = defineError('ENROLLMENT_BATCH_NOT_FOUND', 404, {
  id: 'Gelombang pelatihan tidak ditemukan.',
  en: 'Training batch not found.',
});
export const ENROLLMENT_BATCH_NOT_OPEN = defineError('ENROLLMENT_BATCH_NOT_OPEN', 409, {
  id: 'Pendaftaran gelombang ini belum dibuka.',
  en: 'Enrollment for this batch has not opened yet.',
});
export const ENROLLMENT_BATCH_CLOSED = defineError('ENROLLMENT_BATCH_CLOSED', 409, {
  id: 'Pendaftaran gelombang ini sudah ditutup.',
  en: 'Enrollment for this batch has closed.',
});
export const ENROLLMENT_BATCH_FULL = defineError('ENROLLMENT_BATCH_FULL', 409, {
  id: 'Kuota gelombang ini sudah penuh.',
  en: 'This batch is full.',
});
export const ENROLLMENT_NOT_ELIGIBLE = defineError('ENROLLMENT_NOT_ELIGIBLE', 403, {
  id: 'Pendaftaran ini belum lolos verifikasi NIK, sehingga belum dapat memilih gelombang.',
  en: 'This registration has no verified NIK yet, so it cannot join a batch.',
});
export const ENROLLMENT_ALREADY_ENROLLED = defineError('ENROLLMENT_ALREADY_ENROLLED', 409, {
  id: 'Anda sudah terdaftar di gelombang lain. Satu orang hanya boleh mengikuti satu gelombang aktif.',
  en: 'You are already enrolled in another batch. One person may hold one active batch.',
});
export const ENROLLMENT_NOT_FOUND = defineError('ENROLLMENT_NOT_FOUND', 404, {
  id: 'Tidak ada keikutsertaan gelombang untuk pendaftaran ini.',
  en: 'No enrollment exists for this registration.',
});
export const ENROLLMENT_BATCH_CONFLICT = defineError('ENROLLMENT_BATCH_CONFLICT', 409, {
  id: 'Gelombang dengan id ini sudah ada dengan data yang berbeda.',
  en: 'A batch with this id already exists with different values.',
});
export const ENROLLMENT_ADMIN_UNAUTHENTICATED = defineError('ENROLLMENT_ADMIN_UNAUTHENTICATED', 401, {
  id: 'Kirim token admin sebagai Authorization: Bearer <token>.',
  en: 'Send the admin token as Authorization: Bearer <token>.',
});
export const ENROLLMENT_ADMIN_FORBIDDEN = defineError('ENROLLMENT_ADMIN_FORBIDDEN', 403, {
  id: 'Token admin tidak dikenal.',
  en: 'The admin token is not recognised.',
});
