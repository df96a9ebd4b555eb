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
