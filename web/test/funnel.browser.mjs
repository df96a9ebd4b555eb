// The reference page in a real browser (Debian's headless Chromium, driven by playwright-core), through
// the edge of a running cluster (`./gelombang start`): a new person registers, reads the code from
// MailDev, sees the NIK check fail for a NIK the registry does not know, is refused a malformed
// correction in the page's language, corrects it, chooses the open batch an operator created through
// the admin API, enrolls and withdraws. axe-core checks every step; each step's screenshot lands in
// loadtests/reports/browser/<run>/<lang>/. Once in Indonesian (the default), once switched to English.
//
//   node --test web/test/funnel.browser.mjs
//   WEB_BASE_URL (http://127.0.0.1:8080), MAILDEV_URL (http://127.0.0.1:1080), REGISTRY_URL
//   (http://127.0.0.1:3090), ADMIN_TOKEN (else .run/dev-keys.env), CHROMIUM (/usr/bin/chromium),
//   WEB_TEST_LANGS (id,en).
/* global document, axe */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import nikRules from '@gelombang/nik';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const require = createRequire(import.meta.url);
const { generateValidPerson, serialTypo } = nikRules;

const BASE = process.env.WEB_BASE_URL ?? 'http://127.0.0.1:8080';
const MAILDEV = process.env.MAILDEV_URL ?? 'http://127.0.0.1:1080';
const REGISTRY = process.env.REGISTRY_URL ?? 'http://127.0.0.1:3090';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const LANGS = (process.env.WEB_TEST_LANGS ?? 'id,en').split(',');
const RUN = new Date().toISOString().replace(/[:.]/g, '-');
const REPORTS = join(root, 'loadtests', 'reports', 'browser', RUN);

function devKey(name) {
  if (process.env[name]) return process.env[name];
  const file = join(root, '.run', 'dev-keys.env');
  const line = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${name}=`))
    : undefined;
  if (!line) throw new Error(`${name} is neither in the environment nor in .run/dev-keys.env`);
  return line.slice(name.length + 1);
}

/** What the page must say in each language (web/src/i18n.ts) and what the services answer (docs/errors.md). */
const WORDS = {
  id: {
    switchTo: undefined,
    register: 'Daftar Kartu Prakerja',
    registerButton: 'Daftar',
    verify: 'Masukkan kode dari email',
    confirm: 'Konfirmasi',
    status: 'Status pendaftaran',
    checking: 'Email terverifikasi — NIK sedang diperiksa di Dukcapil',
    rejected: 'NIK tidak dapat diverifikasi',
    notFound: 'NIK tidak ditemukan di Dukcapil. Periksa kembali angka NIK Anda.',
    correct: 'Perbaiki NIK',
    correctButton: 'Kirim NIK yang benar',
    invalid: 'Data yang dikirim tidak valid. Periksa kolom yang disebutkan.',
    batch: 'Pilih gelombang pelatihan',
    enroll: 'Ikut gelombang ini',
    enrolled: 'Anda terdaftar',
    withdraw: 'Mundur dari gelombang',
    withdrawn: 'Mundur dari gelombang',
    signOut: 'Keluar',
    signInLink: 'Masuk dengan email',
    signIn: 'Masuk',
    signInSubmit: 'Kirim kode masuk',
    signInVerify: 'Masuk',
  },
  en: {
    switchTo: 'English',
    register: 'Register for Kartu Prakerja',
    registerButton: 'Register',
    verify: 'Enter the code from the email',
    confirm: 'Confirm',
    status: 'Registration status',
    checking: 'Email verified — the NIK is being checked with Dukcapil',
    rejected: 'The NIK could not be verified',
    notFound: 'Dukcapil does not know this NIK. Check the digits of your NIK.',
    correct: 'Correct your NIK',
    correctButton: 'Send the correct NIK',
    invalid: 'The submitted data is invalid. Check the listed fields.',
    batch: 'Choose a training batch',
    enroll: 'Join this batch',
    enrolled: 'You are enrolled',
    withdraw: 'Withdraw from the batch',
    withdrawn: 'Withdrawn from the batch',
    signOut: 'Sign out',
    signInLink: 'Sign in with your email',
    signIn: 'Sign in',
    signInSubmit: 'Send a sign-in code',
    signInVerify: 'Sign in',
  },
};

async function call(method, url, body, headers = {}) {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json', ...headers }, body: body && JSON.stringify(body) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const mailsTo = async (address) =>
  (await call('GET', `${MAILDEV}/api/email`)).filter((m) => m.to.some((t) => t.address.toLowerCase() === address.toLowerCase()));

/** The six-digit code of the newest mail to `address` once more than `seen` arrived (a code line reads "…: 123456"). */
async function codeFor(address, seen = 0, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const mine = await mailsTo(address);
    const code = mine.length > seen ? /: (\d{6})\r?$/m.exec(mine.at(-1).text ?? '')?.[1] : undefined;
    if (code) return code;
    if (Date.now() > end) throw new Error(`no code mail to ${address} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** axe-core on the page as it is: no serious or critical violation (WCAG 2.x A/AA and best practices). */
async function accessible(page, step) {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const result = await page.evaluate(async () => {
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe-core found serious violations at ${step}: ${JSON.stringify(bad)}`);
  return result;
}

for (const lang of LANGS) {
  const w = WORDS[lang];
  test(`a new person goes through the whole funnel on the page (${lang === 'id' ? 'Indonesian' : 'English'})`, { timeout: 240_000 }, async () => {
    const dir = join(REPORTS, lang);
    mkdirSync(dir, { recursive: true });
    let shot = 0;
    const seed = randomBytes(4).readUInt32BE(0);
    const p = generateValidPerson(seed, new Date());
    const person = { fullName: 'Sri Rahayu', nik: p.nik, birthDate: p.birthDate, email: `web-${lang}-${seed}@example.co.id`, phone: '081234567890' };
    // The NIK the applicant types: one serial digit off, a NIK the registry has never heard of.
    const typo = serialTypo(p.nik, seed);
    await call('POST', `${REGISTRY}/_sim/people`, { people: [{ nik: p.nik, fullName: person.fullName, birthDate: p.birthDate }], absent: [typo] });
    // An operator opens a batch through the edge's admin API.
    const batchId = `web-${lang}-${seed.toString(36)}`;
    const now = Date.now();
    await call(
      'POST',
      `${BASE}/v1/admin/batches`,
      {
        batchId,
        name: `Gelombang Uji ${lang.toUpperCase()} ${seed.toString(36)}`,
        quota: 10,
        opensAt: new Date(now - 60_000).toISOString(),
        closesAt: new Date(now + 900_000).toISOString(),
      },
      { authorization: `Bearer ${devKey('ADMIN_TOKEN')}` },
    );

    const profile = mkdtempSync(join(tmpdir(), 'gelombang-chromium-'));
    // A fresh profile per run (playwright passes it as --user-data-dir); a mid-range phone. The browser's
    // own language is Indonesian either way: English is the page's switch. The edge's CSP forbids inline
    // scripts and axe-core is injected as one: the test's context bypasses it.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // The phone's own language (date fields read dd/mm/yyyy).
        '--lang=id',
      ],
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      locale: 'id-ID',
      bypassCSP: true,
    });
    try {
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const step = async (name) => {
        await accessible(page, name);
        shot += 1;
        await page.screenshot({ path: join(dir, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
      };
      const heading = (text) => page.getByRole('heading', { name: text, exact: true });

      await page.goto(`${BASE}/`);
      await heading(WORDS.id.register).waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), 'id');
      if (w.switchTo) {
        await page.getByRole('button', { name: w.switchTo }).click();
        await heading(w.register).waitFor();
        assert.equal(await page.getAttribute('html', 'lang'), lang);
      }

      // 1. Register (with the NIK typo).
      const form = page.locator('#register-form');
      await form.locator('#fullName').fill(person.fullName);
      await form.locator('#nik').fill(typo);
      await form.locator('#email').fill(person.email);
      await form.locator('#phone').fill(person.phone);
      await form.locator('#birthDate').fill(person.birthDate);
      await step('register');
      await form.getByRole('button', { name: w.registerButton, exact: true }).click();

      // 2. The code from the mail.
      await heading(w.verify).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'verify-title', 'focus moves to the new step');
      await step('code-sent');
      await page
        .locator('#verify')
        .getByLabel(lang === 'id' ? 'Kode verifikasi' : 'Verification code')
        .fill(await codeFor(person.email));
      await step('code-entered');
      await page.locator('#verify').getByRole('button', { name: w.confirm, exact: true }).click();

      // 3. The status moves: the email is verified, the NIK check runs, the registry does not know the NIK.
      await heading(w.status).waitFor();
      // The email is verified and the NIK check under way (or, on a quick registry, already answered).
      await page.waitForFunction((texts) => texts.includes(document.getElementById('status-text')?.textContent), [w.checking, w.rejected]);
      await step('status-checking');
      await page.locator('#status-text', { hasText: w.rejected }).waitFor({ timeout: 90_000 });
      assert.equal(await page.locator('#status-reason').textContent(), w.notFound);
      await heading(w.correct).waitFor();
      await step('nik-rejected');

      // 4. A malformed correction is refused with the coded error in the page's language, next to the field.
      const nikInput = page.locator('#correct-nik');
      await nikInput.fill('12345');
      await page.getByRole('button', { name: w.correctButton }).click();
      await page.locator('#alert', { hasText: w.invalid }).waitFor();
      assert.match(await page.locator('#alert').textContent(), /VALIDATION_FAILED/);
      assert.equal(await nikInput.getAttribute('aria-invalid'), 'true');
      assert.ok((await page.locator('#correct-nik-error').textContent()).length > 0);
      await step('correction-refused');

      // 5. The right NIK: checked again, verified; the open batches appear.
      await nikInput.fill(person.nik);
      await page.getByRole('button', { name: w.correctButton }).click();
      await heading(w.batch).waitFor({ timeout: 90_000 });
      const mine = page.locator(`input[name="batchId"][value="${batchId}"]`);
      await mine.check();
      await step('batch-chosen');
      await page.getByRole('button', { name: w.enroll }).click();

      // 6. Enrolled, then withdrawn.
      await heading(w.enrolled).waitFor();
      assert.match(await page.locator('#enrolled-intro').textContent(), new RegExp(`Gelombang Uji ${lang.toUpperCase()}`));
      await step('enrolled');
      await page.getByRole('button', { name: w.withdraw }).click();
      await page.locator('#status-text', { hasText: w.withdrawn }).waitFor();
      await heading(w.batch).waitFor();
      await step('withdrawn');

      // The enrollment service agrees, through the edge, with the session the page's cookie holds.
      const seat = await page.evaluate(async () => {
        const id = JSON.parse(sessionStorage.getItem('gelombang.page')).registrationId;
        const res = await fetch(`/v1/enrollments/${id}`);
        return { status: res.status, body: await res.json() };
      });
      assert.equal(seat.status, 200);
      assert.equal(seat.body.status, 'withdrawn');
      assert.equal(seat.body.batchId, batchId);
      // The session never reached the script: it is the HttpOnly cookie.
      assert.equal(await page.evaluate(() => document.cookie), '');

      // 7. A later visit: signed out, the status is closed; signed in with a mailed code, it is back.
      const mailed = (await mailsTo(person.email)).length;
      await page.getByRole('button', { name: w.signOut, exact: true }).click();
      await heading(w.register).waitFor();
      const closed = await page.evaluate(async (id) => (await fetch(`/v1/registrations/${id}`)).status, seat.body.registrationId);
      assert.equal(closed, 401);
      await page.getByRole('button', { name: w.signInLink }).click();
      await heading(w.signIn).waitFor();
      await page.locator('#signin-email').fill(person.email);
      await page.locator('#signin-form').getByRole('button', { name: w.signInSubmit }).click();
      await page.locator('#signin-code').fill(await codeFor(person.email, mailed));
      await step('sign-in');
      await page.locator('#signin-code-form').getByRole('button', { name: w.signInVerify, exact: true }).click();
      await heading(w.status).waitFor();
      await page.locator('#status-text', { hasText: w.withdrawn }).waitFor();
      await step('signed-in-again');
      assert.deepEqual(errors, []);
      console.log(`screenshots: ${dir} (${shot})`);
    } catch (e) {
      // What the page showed when it failed, next to the steps' screenshots.
      const page = context.pages().at(-1);
      if (page) await page.screenshot({ path: join(dir, 'failure.png'), fullPage: true }).catch(() => undefined);
      throw e;
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
}
