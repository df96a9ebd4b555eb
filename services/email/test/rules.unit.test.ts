import { CodeHasher, newCode, unusableCodeHmac } from '../src/domain/codes';
import { noticeMail, signInMail, verificationMail } from '../src/domain/mail-content';
import {
  attemptsLeft,
  decideConfirm,
  decideResend,
  resendAvailableAt,
  statusOf,
  type VerificationRules,
  type VerificationState,
} from '../src/domain/verification';

const rules: VerificationRules = { codeTtlSec: 900, maxAttempts: 5, resendCooldownSec: 60, maxSends: 5, sendsWindowSec: 86_400, maxCodeSubmissions: 10 };
const now = new Date('2026-11-30T10:00:00Z');
const at = (sec: number) => new Date(now.getTime() + sec * 1000);
const sent = (over: Partial<VerificationState> = {}): VerificationState => ({
  registrationId: '0196f2d4-0000-7000-8000-000000000001',
  emailMasked: 'b***i@example.co.id',
  codeHmac: 'h',
  expiresAt: at(600),
  pendingCodeHmac: null,
  pendingExpiresAt: null,
  failedAttempts: 0,
  sendCount: 1,
  sentAt: at(-300),
  windowStartedAt: at(-300),
  windowSends: 1,
  submissionsWindowStartedAt: null,
  windowSubmissions: 0,
  verifiedAt: null,
  notice: null,
  ...over,
});

describe('verification codes', () => {
  it('are six digits, and only the matching code of the same registration matches its HMAC', () => {
    const codes = Array.from({ length: 200 }, newCode);
    for (const c of codes) expect(c).toMatch(/^\d{6}$/);
    expect(new Set(codes).size).toBeGreaterThan(190);
    const hasher = new CodeHasher(Buffer.alloc(32, 7));
    const h = hasher.hash('r1', '012345');
    expect(h).not.toContain('012345');
    expect(hasher.matches('r1', '012345', h)).toBe(true);
    expect(hasher.matches('r1', '012346', h)).toBe(false);
    expect(hasher.matches('r2', '012345', h)).toBe(false);
    expect(new CodeHasher(Buffer.alloc(32, 8)).matches('r1', '012345', h)).toBe(false);
    expect(hasher.matches('r1', '012345', 'short')).toBe(false);
  });

  it('go out in a mail with the code in the body only (the subject says what the mail is), Indonesian before English', () => {
    const m = verificationMail('004217', 900);
    expect(m.subject).toBe('Kode verifikasi email Kartu Prakerja');
    expect(m.text.indexOf('berlaku 15 menit')).toBeGreaterThan(-1);
    expect(m.text.indexOf('berlaku 15 menit')).toBeLessThan(m.text.indexOf('valid for 15 minutes'));
    expect(m.text.match(/004217/g)).toHaveLength(2);
  });

  it('have no stand-in for a notice: the value stored in place of its code is shaped like a code HMAC, and no code hashes to it', () => {
    const hasher = new CodeHasher(Buffer.alloc(32, 7));
    const stored = unusableCodeHmac();
    expect(stored).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(stored).toHaveLength(hasher.hash('r1', '000000').length);
    expect(unusableCodeHmac()).not.toBe(stored);
    for (const code of ['000000', '123456', '999999', newCode()]) expect(hasher.matches('r1', code, stored)).toBe(false);
  });
});

describe('notice mails', () => {
  const kinds = ['EMAIL_REGISTERED', 'NIK_HELD', 'NIK_BUSY'] as const;
  it('say what the conflict means, Indonesian before English, with no code, number or personal data anywhere', () => {
    const says = {
      EMAIL_REGISTERED: [
        'Alamat email ini sudah dipakai untuk pendaftaran Kartu Prakerja — lanjutkan dengan masuk',
        'Jika bukan Anda, abaikan email ini.',
        'continue by signing in',
      ],
      NIK_HELD: [
        'NIK yang Anda masukkan sudah terverifikasi untuk pendaftaran lain. Jika itu bukan Anda, hubungi layanan pengaduan (call center) untuk sengketa NIK.',
        'already verified for another registration',
        'contact the complaints service (call center)',
      ],
      NIK_BUSY: ['Terlalu banyak pendaftaran yang sedang menunggu dengan NIK ini; coba lagi nanti.', 'try again later'],
    };
    for (const kind of kinds) {
      const m = noticeMail(kind);
      for (const line of says[kind]) expect(m.text).toContain(line);
      expect(m.text.indexOf('Halo,')).toBeLessThan(m.text.indexOf('Hello,'));
      expect(m.text.indexOf(says[kind][0]!)).toBeLessThan(m.text.indexOf('Hello,'));
      expect(m.text.indexOf(says[kind][says[kind].length - 1]!)).toBeGreaterThan(m.text.indexOf('Hello,'));
      expect(`${m.subject}\n${m.text}`).not.toMatch(/\d/);
      expect(m.subject).not.toBe(verificationMail('004217', 900).subject);
    }
    // Each kind its own subject, none a code mail's.
    const subjects = new Set([...kinds.map((k) => noticeMail(k).subject), verificationMail('1', 1).subject, signInMail('1', 1).subject]);
    expect(subjects.size).toBe(5);
  });
});

describe('confirm rules', () => {
  const yes = () => true;
  const no = () => false;
  /** A wrong code on a registration with no code tried before: it opens the submissions window now. */
  const wrong = (attemptsLeft: number, locksNow: boolean, submissions = { startedAt: now, count: 1 }) => ({
    kind: 'wrong',
    attemptsLeft,
    locksNow,
    exhaustsNow: false,
    retryAfterSec: Math.ceil((submissions.startedAt.getTime() + 86_400_000 - now.getTime()) / 1000),
    submissions,
  });
  it('verifies a live code, counts wrong ones and locks on the last attempt', () => {
    expect(decideConfirm(sent(), rules, now, yes)).toEqual({ kind: 'verify' });
    expect(decideConfirm(sent(), rules, now, no)).toEqual(wrong(4, false));
    expect(decideConfirm(sent({ failedAttempts: 4 }), rules, now, no)).toEqual(wrong(0, true));
    expect(decideConfirm(sent({ failedAttempts: 5 }), rules, now, yes)).toEqual({ kind: 'locked' });
    expect(statusOf(sent({ failedAttempts: 5 }), rules)).toBe('locked');
  });
  it('never verifies a registration owed a notice: a code that somehow matched is a wrong one, counted and locking like any', () => {
    const notice = (over: Partial<VerificationState> = {}) => sent({ notice: 'EMAIL_REGISTERED', ...over });
    expect(decideConfirm(notice(), rules, now, yes)).toEqual(wrong(4, false));
    expect(decideConfirm(notice({ failedAttempts: 4 }), rules, now, yes)).toEqual(wrong(0, true));
    expect(decideConfirm(notice({ failedAttempts: 5 }), rules, now, yes)).toEqual({ kind: 'locked' });
    expect(decideConfirm(notice({ expiresAt: now }), rules, now, yes)).toEqual({ kind: 'expired' });
    expect(decideConfirm(notice({ codeHmac: null }), rules, now, yes)).toEqual({ kind: 'not_sent' });
    // Statuses, attempts and resends as for any registration.
    expect(statusOf(notice(), rules)).toBe('sent');
    expect(attemptsLeft(notice(), rules, now)).toBe(5);
    expect(decideResend(notice(), rules, now)).toEqual(decideResend(sent(), rules, now));
  });
  it('refuses an expired code (even a right one), a code not mailed yet, and repeats a success', () => {
    expect(decideConfirm(sent({ expiresAt: now }), rules, now, yes)).toEqual({ kind: 'expired' });
    expect(decideConfirm(sent({ codeHmac: null }), rules, now, yes)).toEqual({ kind: 'not_sent' });
    expect(decideConfirm(sent({ verifiedAt: at(-5) }), rules, now, no)).toEqual({ kind: 'already_verified', verifiedAt: at(-5) });
  });
  it('counts codes tried per registration across codes: the last allowed wrong one and every confirm after it are refused until the window ends', () => {
    const tried = (count: number, startedAt = at(-3600)) => sent({ submissionsWindowStartedAt: startedAt, windowSubmissions: count });
    // A fresh code (a resend reset failedAttempts), yet the registration has tried 8 before: 2 left, not 5.
    expect(decideConfirm(tried(8), rules, now, no)).toEqual({
      kind: 'wrong',
      attemptsLeft: 1,
      locksNow: false,
      exhaustsNow: false,
      retryAfterSec: 82_800,
      submissions: { startedAt: at(-3600), count: 9 },
    });
    expect(decideConfirm(tried(9), rules, now, no)).toMatchObject({ kind: 'wrong', attemptsLeft: 0, exhaustsNow: true, retryAfterSec: 82_800 });
    expect(decideConfirm(tried(10), rules, now, yes)).toEqual({ kind: 'exhausted', retryAfterSec: 82_800 });
    expect(attemptsLeft(tried(8), rules, now)).toBe(2);
    // No mail is spent on a code that could not be tried before the window ends.
    expect(decideResend(tried(10), rules, now)).toEqual({ kind: 'exhausted', retryAfterSec: 82_800 });
    expect(resendAvailableAt(tried(10), rules, now)).toEqual(at(82_800));
    // The window is over: a new one opens with this code.
    expect(decideConfirm(tried(10, at(-86_400)), rules, now, yes)).toEqual({ kind: 'verify' });
    expect(decideConfirm(tried(10, at(-86_400)), rules, now, no)).toMatchObject({ kind: 'wrong', attemptsLeft: 4, submissions: { startedAt: now, count: 1 } });
    expect(attemptsLeft(tried(10, at(-86_400)), rules, now)).toBe(5);
  });
  it('accepts a pending code (stored before its mail went out) under the same expiry and attempt rules', () => {
    const pending = (over: Partial<VerificationState> = {}) =>
      sent({ codeHmac: null, expiresAt: null, sentAt: null, pendingCodeHmac: 'p', pendingExpiresAt: at(900), ...over });
    const is = (h: string) => (hmac: string) => hmac === h;
    expect(decideConfirm(pending(), rules, now, is('p'))).toEqual({ kind: 'verify' });
    expect(decideConfirm(pending(), rules, now, is('x'))).toEqual(wrong(4, false));
    expect(decideConfirm(pending({ failedAttempts: 4 }), rules, now, is('x'))).toEqual(wrong(0, true));
    expect(decideConfirm(pending({ failedAttempts: 5 }), rules, now, is('p'))).toEqual({ kind: 'locked' });
    expect(decideConfirm(pending({ pendingExpiresAt: now }), rules, now, is('p'))).toEqual({ kind: 'expired' });
    // Both out at once (the sender never leaves it so, but confirm handles it): either matches while it lives, an expired one never.
    expect(decideConfirm(pending({ codeHmac: 'h', expiresAt: at(600) }), rules, now, is('h'))).toEqual({ kind: 'verify' });
    expect(decideConfirm(pending({ codeHmac: 'h', expiresAt: at(600) }), rules, now, is('p'))).toEqual({ kind: 'verify' });
    expect(decideConfirm(pending({ codeHmac: 'h', expiresAt: now }), rules, now, is('h'))).toEqual(wrong(4, false));
    // Every live code is compared, whichever matches.
    const seen: string[] = [];
    decideConfirm(pending({ codeHmac: 'h', expiresAt: at(600) }), rules, now, (hmac) => (seen.push(hmac), hmac === 'h'));
    expect(seen.sort()).toEqual(['h', 'p']);
    // Still "pending" for the status and for a resend: no mail is recorded as sent yet.
    expect(statusOf(pending(), rules)).toBe('pending');
    expect(decideResend(pending(), rules, now)).toEqual({ kind: 'already_queued' });
  });
});

describe('resend rules', () => {
  it('waits out the cooldown, then counts sends in the window until the limit', () => {
    expect(decideResend(sent({ sentAt: at(-10) }), rules, now)).toEqual({ kind: 'too_soon', retryAfterSec: 50 });
    expect(decideResend(sent(), rules, now)).toEqual({ kind: 'queue', windowStartedAt: at(-300), windowSends: 2 });
    expect(decideResend(sent({ windowSends: 5 }), rules, now)).toEqual({ kind: 'limit', retryAfterSec: 86_100 });
    expect(resendAvailableAt(sent({ windowSends: 5 }), rules, now)).toEqual(at(86_100));
  });
  it('opens a fresh window once the old one is over, and adds nothing while a mail is owed', () => {
    const old = sent({ windowStartedAt: at(-90_000), windowSends: 5 });
    expect(decideResend(old, rules, now)).toEqual({ kind: 'queue', windowStartedAt: now, windowSends: 1 });
    expect(decideResend(sent({ codeHmac: null }), rules, now)).toEqual({ kind: 'already_queued' });
    expect(decideResend(sent({ verifiedAt: now }), rules, now)).toEqual({ kind: 'already_verified' });
  });
});
