import { defineError } from '@gelombang/platform';

export const EMAIL_VERIFICATION_NOT_FOUND = defineError('EMAIL_VERIFICATION_NOT_FOUND', 404, {
  id: 'Verifikasi email untuk pendaftaran ini tidak ditemukan (atau belum siap; coba lagi sebentar).',
  en: 'No email verification for this registration (or not ready yet; retry shortly).',
});
export const EMAIL_CODE_NOT_SENT = defineError('EMAIL_CODE_NOT_SENT', 409, {
  id: 'Kode verifikasi belum dikirim. Tunggu email dari kami.',
  en: 'The verification code has not been sent yet. Wait for our email.',
});
export const EMAIL_CODE_INVALID = defineError('EMAIL_CODE_INVALID', 400, {
  id: 'Kode verifikasi salah.',
  en: 'The verification code is wrong.',
});
export const EMAIL_CODE_EXPIRED = defineError('EMAIL_CODE_EXPIRED', 410, {
  id: 'Kode verifikasi sudah kedaluwarsa. Minta kode baru.',
  en: 'The verification code has expired. Ask for a new one.',
});
export const EMAIL_CODE_LOCKED = defineError('EMAIL_CODE_LOCKED', 423, {
  id: 'Terlalu banyak kode salah. Kode ini dikunci; minta kode baru.',
  en: 'Too many wrong codes. This code is locked; ask for a new one.',
});
export const EMAIL_ALREADY_VERIFIED = defineError('EMAIL_ALREADY_VERIFIED', 409, {
  id: 'Email ini sudah terverifikasi.',
  en: 'This email is already verified.',
});
export const EMAIL_RESEND_TOO_SOON = defineError('EMAIL_RESEND_TOO_SOON', 429, {
  id: 'Kode baru baru saja dikirim. Coba lagi setelah waktu yang ditunjukkan Retry-After.',
  en: 'A code was sent a moment ago. Try again after the time given in Retry-After.',
});
export const EMAIL_RESEND_LIMIT_REACHED = defineError('EMAIL_RESEND_LIMIT_REACHED', 429, {
  id: 'Batas pengiriman ulang kode tercapai. Coba lagi setelah waktu yang ditunjukkan Retry-After.',
  en: 'The limit of resent codes is reached. Try again after the time given in Retry-After.',
});
export const EMAIL_CODE_SUBMISSIONS_EXHAUSTED = defineError('EMAIL_CODE_SUBMISSIONS_EXHAUSTED', 429, {
  id: 'Terlalu banyak kode yang dicoba untuk pendaftaran ini. Coba lagi setelah waktu yang ditunjukkan Retry-After.',
  en: 'Too many codes were tried for this registration. Try again after the time given in Retry-After.',
});
export const EMAIL_SIGNIN_CODE_INVALID = defineError('EMAIL_SIGNIN_CODE_INVALID', 400, {
  id: 'Kode masuk salah atau sudah kedaluwarsa. Periksa alamat email dan kode, atau minta kode baru.',
  en: 'The sign-in code is wrong or has expired. Check the email address and the code, or ask for a new one.',
});
export const EMAIL_SIGNIN_ATTEMPTS_EXHAUSTED = defineError('EMAIL_SIGNIN_ATTEMPTS_EXHAUSTED', 429, {
  id: 'Terlalu banyak kode masuk yang salah untuk alamat ini. Coba lagi setelah waktu yang ditunjukkan Retry-After.',
  en: 'Too many wrong sign-in codes for this address. Try again after the time given in Retry-After.',
});
