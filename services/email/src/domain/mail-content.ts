export interface VerificationMail {
  subject: string;
  text: string;
}

const minutes = (sec: number) => Math.max(1, Math.round(sec / 60));

/**
 * The verification mail: Indonesian first, then English. The subject says what the mail is and the
 * code is only in the body: a subject shows on a locked phone's notification, in inbox lists and in
 * mail logs, where anyone near could read a code that now also opens a session. No name or NIK: a mail
 * can be forwarded or read over a shoulder.
 */
export function verificationMail(code: string, ttlSec: number): VerificationMail {
  const m = minutes(ttlSec);
  return {
    subject: 'Kode verifikasi email Kartu Prakerja',
    text: [
      'Halo,',
      '',
      `Kode verifikasi email untuk pendaftaran Kartu Prakerja Anda: ${code}`,
      '',
      `Kode ini berlaku ${m} menit. Jangan berikan kode ini kepada siapa pun, termasuk orang yang mengaku petugas Prakerja.`,
      'Jika Anda tidak mendaftar Kartu Prakerja, abaikan email ini.',
      '',
      '—',
      '',
      'Hello,',
      '',
      `The email verification code for your Kartu Prakerja registration: ${code}`,
      '',
      `This code is valid for ${m} minutes. Do not share it with anyone, including people who claim to be Prakerja staff.`,
      'If you did not register for Kartu Prakerja, ignore this email.',
      '',
    ].join('\n'),
  };
}
