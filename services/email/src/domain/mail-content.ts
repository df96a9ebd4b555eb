import type { Notice } from './verification';

/** A mail's subject and plain-text body (a code mail's, or a notice's). */
export interface CodeMail {
  subject: string;
  text: string;
}

const minutes = (sec: number) => Math.max(1, Math.round(sec / 60));

/** What a code mail says around its code, in each language. */
interface Wording {
  subject: string;
  codeLine: { id: string; en: string };
  ifNotYou: { id: string; en: string };
}

/**
 * A mail carrying a code: Indonesian first, then English. The subject says what the mail is and the
 * code is only in the body: a subject shows on a locked phone's notification, in inbox lists and in
 * mail logs, where anyone near could read a code that opens a session. No name or NIK: a mail can be
 * forwarded or read over a shoulder.
 */
function codeMail(w: Wording, code: string, ttlSec: number): CodeMail {
  const m = minutes(ttlSec);
  return {
    subject: w.subject,
    text: [
      'Halo,',
      '',
      `${w.codeLine.id}: ${code}`,
      '',
      `Kode ini berlaku ${m} menit. Jangan berikan kode ini kepada siapa pun, termasuk orang yang mengaku petugas Prakerja.`,
      w.ifNotYou.id,
      '',
      '—',
      '',
      'Hello,',
      '',
      `${w.codeLine.en}: ${code}`,
      '',
      `This code is valid for ${m} minutes. Do not share it with anyone, including people who claim to be Prakerja staff.`,
      w.ifNotYou.en,
      '',
    ].join('\n'),
  };
}

/** The mail that verifies the address of a new registration. */
export const verificationMail = (code: string, ttlSec: number): CodeMail =>
  codeMail(
    {
      subject: 'Kode verifikasi email Kartu Prakerja',
      codeLine: {
        id: 'Kode verifikasi email untuk pendaftaran Kartu Prakerja Anda',
        en: 'The email verification code for your Kartu Prakerja registration',
      },
      ifNotYou: { id: 'Jika Anda tidak mendaftar Kartu Prakerja, abaikan email ini.', en: 'If you did not register for Kartu Prakerja, ignore this email.' },
    },
    code,
    ttlSec,
  );

/** The mail that signs a verified applicant in again (POST /v1/sessions). */
export const signInMail = (code: string, ttlSec: number): CodeMail =>
  codeMail(
    {
      subject: 'Kode masuk Kartu Prakerja',
      codeLine: { id: 'Kode untuk masuk ke pendaftaran Kartu Prakerja Anda', en: 'The sign-in code for your Kartu Prakerja registration' },
      ifNotYou: {
        id: 'Jika Anda tidak meminta kode ini, abaikan email ini: tanpa kode ini tidak ada yang bisa masuk.',
        en: 'If you did not ask for this code, ignore this email: without it nobody can sign in.',
      },
    },
    code,
    ttlSec,
  );

/** What a notice says, in each language (README: "Conflicts"). */
const NOTICES: Record<Notice, { subject: string; id: string[]; en: string[] }> = {
  EMAIL_REGISTERED: {
    subject: 'Alamat email ini sudah terdaftar di Kartu Prakerja',
    id: [
      'Alamat email ini sudah dipakai untuk pendaftaran Kartu Prakerja — lanjutkan dengan masuk di halaman masuk Kartu Prakerja memakai alamat email ini.',
      'Jika bukan Anda, abaikan email ini.',
    ],
    en: [
      'This email address is already used for a Kartu Prakerja registration — continue by signing in on the Kartu Prakerja sign-in page with this address.',
      'If this was not you, ignore this email.',
    ],
  },
  NIK_HELD: {
    subject: 'Pendaftaran Kartu Prakerja: NIK sudah terverifikasi untuk pendaftaran lain',
    id: [
      'NIK yang Anda masukkan sudah terverifikasi untuk pendaftaran lain. Jika itu bukan Anda, hubungi layanan pengaduan (call center) untuk sengketa NIK.',
      'Jika Anda tidak mendaftar Kartu Prakerja, abaikan email ini.',
    ],
    en: [
      'The NIK you entered is already verified for another registration. If that was not you, contact the complaints service (call center) about the NIK dispute.',
      'If you did not register for Kartu Prakerja, ignore this email.',
    ],
  },
  NIK_BUSY: {
    subject: 'Pendaftaran Kartu Prakerja belum dapat diproses',
    id: ['Terlalu banyak pendaftaran yang sedang menunggu dengan NIK ini; coba lagi nanti.', 'Jika Anda tidak mendaftar Kartu Prakerja, abaikan email ini.'],
    en: ['Too many registrations naming this NIK are waiting; try again later.', 'If you did not register for Kartu Prakerja, ignore this email.'],
  },
};

/**
 * The mail a registration that met a conflict gets instead of a code mail, to the address it gave:
 * what the conflict means and what to do. Like the code mails: Indonesian first, then English, and
 * no name, NIK or other personal data. It carries no code (the registration has none that works).
 */
export function noticeMail(kind: Notice): CodeMail {
  const n = NOTICES[kind];
  return {
    subject: n.subject,
    text: [
      'Halo,',
      '',
      'Kami menerima pendaftaran Kartu Prakerja dengan alamat email ini, tetapi pendaftaran itu tidak dapat dilanjutkan.',
      '',
      ...n.id,
      '',
      '—',
      '',
      'Hello,',
      '',
      'We received a Kartu Prakerja registration with this email address, but it cannot go ahead.',
      '',
      ...n.en,
      '',
    ].join('\n'),
  };
}
