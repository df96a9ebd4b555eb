import type { Messages } from './types';

/** Field codes of the REST bodies → messages. Codes are public: never reuse one for a new meaning. */
export const FIELD_MESSAGES: Record<string, Messages> = {
  NAME_TOO_SHORT: { id: 'Minimal 2 huruf.', en: 'At least 2 letters.' },
  NAME_TOO_LONG: { id: 'Maksimal 100 karakter.', en: 'At most 100 characters.' },
  FULL_NAME_INVALID_CHARACTERS: {
    id: "Nama hanya boleh berisi huruf, spasi, titik, apostrof (') dan tanda hubung (-).",
    en: "A name may contain only letters, spaces, dots, apostrophes (') and hyphens (-).",
  },
  BIRTH_PLACE_INVALID_CHARACTERS: {
    id: "Tempat lahir hanya boleh berisi huruf, spasi, titik, apostrof (') dan tanda hubung (-).",
    en: "A birth place may contain only letters, spaces, dots, apostrophes (') and hyphens (-).",
  },
  EMAIL_INVALID: { id: 'Alamat email tidak valid.', en: 'Invalid email address.' },
  PHONE_INVALID: {
    id: 'Nomor HP harus nomor seluler Indonesia: 08…, 628… atau +628…',
    en: 'The phone must be an Indonesian mobile number: 08…, 628… or +628…',
  },
  BIRTH_DATE_INVALID: { id: 'Tanggal lahir harus tanggal nyata berformat YYYY-MM-DD.', en: 'Birth date must be a real date as YYYY-MM-DD.' },
  AGE_OUT_OF_RANGE: { id: 'Usia pendaftar di luar rentang yang diizinkan.', en: 'The applicant’s age is outside the allowed range.' },
  NIK_FORMAT: { id: 'NIK harus 16 angka.', en: 'The NIK must be 16 digits.' },
  NIK_PROVINCE_UNKNOWN: { id: 'Dua angka pertama NIK bukan kode provinsi yang berlaku.', en: 'The first two NIK digits are not a valid province code.' },
  NIK_REGENCY_INVALID: { id: 'Angka ke-3 dan ke-4 NIK bukan kode kabupaten/kota yang valid.', en: 'NIK digits 3–4 are not a valid regency/city code.' },
  NIK_BIRTH_DATE_INVALID: {
    id: 'Angka ke-7 sampai ke-12 NIK bukan tanggal lahir yang valid (DDMMYY, perempuan +40 pada tanggal).',
    en: 'NIK digits 7–12 are not a valid birth date (DDMMYY, +40 on the day for women).',
  },
  NIK_BIRTH_DATE_MISMATCH: {
    id: 'Tanggal lahir pada NIK tidak sama dengan tanggal lahir yang diisi.',
    en: 'The birth date in the NIK does not match the birth date given.',
  },
  NIK_AGE_OUT_OF_RANGE: { id: 'Usia menurut NIK di luar rentang yang diizinkan.', en: 'The age given by the NIK is outside the allowed range.' },
  NIK_SERIAL_ZERO: { id: 'Nomor urut NIK (4 angka terakhir) tidak boleh 0000.', en: 'The NIK serial (last 4 digits) cannot be 0000.' },
  KK_NUMBER_INVALID: {
    id: 'Nomor KK harus 16 angka dengan kode provinsi yang berlaku.',
    en: 'The family card number must be 16 digits with a valid province code.',
  },
};
