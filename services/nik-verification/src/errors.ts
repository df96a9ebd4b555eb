import { defineError } from '@gelombang/platform';

export const NIK_VERIFICATION_NOT_FOUND = defineError('NIK_VERIFICATION_NOT_FOUND', 404, {
  id: 'Belum ada pemeriksaan NIK untuk pendaftaran ini.',
  en: 'There is no NIK check for this registration.',
});
