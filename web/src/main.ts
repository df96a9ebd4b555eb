/**
 * The reference registration page: register → the emailed code → the NIK check → a corrected NIK when
 * the registry did not know it → an open batch → enrolled → withdrawn. Every call goes through
 * @gelombang/client on the page's own origin (the edge), so the session is the HttpOnly cookie the
 * email step sets: no token is ever readable by this script.
 */
import { ApiError, createGelombangClient } from '@gelombang/client';
import { hasKey, t, type Key, type Lang } from './i18n';

type View = 'register' | 'verify' | 'signin' | 'status';
type Step = 'register' | 'verify' | 'nik' | 'batch' | 'done';
const STORE = 'gelombang.page';
const saved = (() => {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) ?? '{}') as { lang?: Lang; registrationId?: string; email?: string };
  } catch {
    return {};
  }
})();

const client = createGelombangClient({ baseUrl: '', session: 'cookie', lang: saved.lang ?? 'id' });

// The shapes below are the generated ones (the answers of these calls), never written by hand.
const fetchRegistration = (id: string) => client.ok(client.api.GET('/v1/registrations/{id}', { params: { path: { id } } }));
const fetchBatches = async () => (await client.ok(client.api.GET('/v1/batches'))).batches;
const fetchEnrollment = (registrationId: string) => client.ok(client.api.GET('/v1/enrollments/{registrationId}', { params: { path: { registrationId } } }));
type RegistrationView = Awaited<ReturnType<typeof fetchRegistration>>;
type Status = RegistrationView['status'];

const state = {
  lang: (saved.lang ?? (new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'id')) as Lang,
  registrationId: saved.registrationId,
  email: saved.email,
  view: 'register' as View,
  registration: undefined as RegistrationView | undefined,
  batches: [] as Awaited<ReturnType<typeof fetchBatches>>,
  enrollment: undefined as Awaited<ReturnType<typeof fetchEnrollment>> | undefined,
  poll: undefined as number | undefined,
  /** The email service said verified (its answer comes before the intake's copy of it). */
  emailVerified: false,
};

client.lang = state.lang;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const persist = () => sessionStorage.setItem(STORE, JSON.stringify({ lang: state.lang, registrationId: state.registrationId, email: state.email }));
const tr = (key: Key, vars?: Record<string, string | number>) => t(state.lang, key, vars);
const formatTime = (iso: string) =>
  new Intl.DateTimeFormat(state.lang === 'id' ? 'id-ID' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Jakarta' }).format(new Date(iso));

// ---- language -------------------------------------------------------------------------------------

function applyLanguage(): void {
  document.documentElement.lang = state.lang;
  document.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
    const key = el.dataset.i18n!;
    if (hasKey(key)) el.textContent = tr(key);
  });
  document.querySelectorAll<HTMLElement>('[data-i18n-aria]').forEach((el) => {
    const key = el.dataset.i18nAria!;
    if (hasKey(key)) el.setAttribute('aria-label', tr(key));
  });
  document.querySelectorAll<HTMLButtonElement>('[data-lang]').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.lang === state.lang)));
  client.lang = state.lang;
  renderDynamic();
}

function setLanguage(lang: Lang): void {
  state.lang = lang;
  persist();
  clearMessages();
  applyLanguage();
}

// ---- messages -------------------------------------------------------------------------------------

function clearMessages(): void {
  $('alert').hidden = true;
  $('alert').replaceChildren();
  $('notice').hidden = true;
  document.querySelectorAll<HTMLInputElement>('input[aria-invalid]').forEach((i) => i.removeAttribute('aria-invalid'));
  document.querySelectorAll<HTMLElement>('.field-error').forEach((e) => (e.textContent = ''));
}

function notice(text: string): void {
  $('notice').textContent = text;
  $('notice').hidden = false;
}

/** A refusal in the chosen language (the server's message for its code), and each field's next to its input. */
function showError(e: unknown, fieldPrefix = ''): void {
  const err = e instanceof ApiError ? e : ApiError.client('CLIENT_NETWORK_ERROR', state.lang);
  const alert = $('alert');
  const message = document.createElement('span');
  message.textContent = err.message;
  const code = document.createElement('span');
  code.className = 'code';
  code.textContent = tr('codeLabel', { code: err.code });
  alert.replaceChildren(message, code);
  alert.hidden = false;
  let first: HTMLInputElement | undefined;
  for (const f of err.errors) {
    const input = document.getElementById(`${fieldPrefix}${f.field}`) as HTMLInputElement | null;
    const slot = document.getElementById(`${fieldPrefix}${f.field}-error`);
    if (!input || !slot) continue;
    input.setAttribute('aria-invalid', 'true');
    slot.textContent = f.message;
    first ??= input;
  }
  first?.focus();
}

/** Runs a form's action with its submit button disabled, its refusals shown. */
async function busy(button: HTMLButtonElement, action: () => Promise<void>, fieldPrefix = ''): Promise<void> {
  clearMessages();
  button.disabled = true;
  try {
    await action();
  } catch (e) {
    showError(e, fieldPrefix);
  } finally {
    button.disabled = false;
  }
}

// ---- views ----------------------------------------------------------------------------------------

/**
 * The registration's status as the page shows it: the intake's, except that the seat is the enrollment
 * service's word — its answer is there at once, the intake's copy follows through Kafka a moment later.
 */
function effectiveStatus(): Status | undefined {
  const r = state.registration;
  if (!r) return undefined;
  if (r.status === 'pending_email_verification' && state.emailVerified) return 'email_verified';
  const seat = state.enrollment?.status;
  if (seat === 'active' && (r.status === 'nik_verified' || r.status === 'withdrawn' || r.status === 'enrolled')) return 'enrolled';
  if (seat === 'withdrawn' && (r.status === 'nik_verified' || r.status === 'enrolled' || r.status === 'withdrawn')) return 'withdrawn';
  return r.status;
}

function stepOf(): Step {
  if (state.view === 'register' || state.view === 'signin') return 'register';
  if (state.view === 'verify') return 'verify';
  const s = effectiveStatus();
  if (s === 'nik_verified' || s === 'withdrawn') return 'batch';
  if (s === 'enrolled') return 'done';
  return 'nik';
}

function show(view: View, focus: string): void {
  state.view = view;
  document.querySelectorAll<HTMLElement>('[data-view]').forEach((s) => (s.hidden = s.id !== view));
  renderDynamic();
  $(focus).focus();
}

/** What depends on the state and the language: filled-in texts, the status, the batches. */
function renderDynamic(): void {
  const step = stepOf();
  document.querySelectorAll<HTMLElement>('.steps li').forEach((li) => {
    if (li.dataset.step === step) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  });
  document.title = `${tr(step === 'register' ? 'stepRegister' : step === 'verify' ? 'stepVerify' : step === 'nik' ? 'stepNik' : step === 'batch' ? 'stepBatch' : 'stepDone')} — ${tr('title')}`;
  $('verify-intro').textContent = tr('verifyIntro', { email: state.email ?? '' });
  $('signin-code-intro').textContent = tr('signInCodeIntro', { email: state.email ?? '' });
  const r = state.registration;
  const status = effectiveStatus();
  if (!r || !status) return;
  const statusKey = `status.${status}`;
  $('status-text').textContent = hasKey(statusKey) ? tr(statusKey) : status;
  const reasonKey = `reason.${r.reason ?? ''}`;
  const final = r.status === 'rejected_duplicate' || r.status === 'expired' || (r.status === 'nik_rejected' && !r.nikCorrectable);
  // A reason is the applicant's to read only where it says why they are stuck (a withdrawal's is not).
  const explained = status === 'nik_rejected' || status === 'rejected_duplicate' || status === 'expired';
  $('status-reason').textContent =
    explained && r.reason ? `${hasKey(reasonKey) ? tr(reasonKey) : tr('reason.other')}${final ? ` ${tr('finalNote')}` : ''}` : '';
  $('status-attempt').textContent = r.nikAttempt ? `${tr('attempt', { n: r.nikAttempt })}${polling(r.status) ? ` ${tr('refreshing')}` : ''}` : '';
  $('correct').hidden = !(r.status === 'nik_rejected' && r.nikCorrectable);
  $('batch').hidden = !(status === 'nik_verified' || status === 'withdrawn');
  $('enrolled').hidden = status !== 'enrolled';
  $('batch-intro').textContent =
    status === 'withdrawn' && state.enrollment ? tr('withdrawnNote', { batch: batchName(state.enrollment.batchId) }) : tr('batchIntro');
  renderBatches();
  if (state.enrollment && status === 'enrolled') {
    $('enrolled-intro').textContent = tr('enrolledIntro', { batch: batchName(state.enrollment.batchId), at: formatTime(state.enrollment.enrolledAt) });
  }
}

const batchName = (batchId: string) => state.batches.find((b) => b.batchId === batchId)?.name ?? batchId;

function renderBatches(): void {
  const list = $('batch-list');
  // The choice survives a re-render (a language switch, a reload of the list), not a withdrawal from it.
  const checked = document.querySelector<HTMLInputElement>('input[name="batchId"]:checked')?.value;
  const chosen = checked === state.enrollment?.batchId ? undefined : checked;
  const open = state.batches.filter((b) => b.status === 'open' && b.seatsLeft > 0);
  if (open.length === 0) {
    const p = document.createElement('p');
    p.textContent = tr('batchNone');
    list.replaceChildren(p);
    return;
  }
  list.replaceChildren(
    ...open.map((b, i) => {
      const row = document.createElement('div');
      row.className = 'option';
      const input = document.createElement('input');
      input.type = 'radio';
      input.name = 'batchId';
      input.id = `batch-${i}`;
      input.value = b.batchId;
      input.required = true;
      input.checked = b.batchId === chosen;
      const label = document.createElement('label');
      label.htmlFor = input.id;
      label.textContent = tr('batchOption', { name: b.name, seats: b.seatsLeft, closes: formatTime(b.closesAt) });
      row.append(input, label);
      return row;
    }),
  );
}

// ---- the funnel -----------------------------------------------------------------------------------

const polling = (status: Status) =>
  status === 'email_verified' || status === 'nik_resubmitted' || status === 'processing' || status === 'pending_email_verification';

async function loadStatus(): Promise<void> {
  const id = state.registrationId!;
  state.registration = await fetchRegistration(id);
  const s = state.registration.status;
  if (s === 'nik_verified' || s === 'enrolled' || s === 'withdrawn') {
    // The seat, if any (404: none yet), and the batches to choose from or to name it by.
    state.enrollment = await fetchEnrollment(id).catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 404) return undefined;
      throw e;
    });
    await loadBatches();
  }
  renderDynamic();
  schedulePoll();
}

async function loadBatches(): Promise<void> {
  state.batches = await fetchBatches();
}

/** While the NIK check runs, the status is read again (every 2 s; the client backs off on 429/503). */
function schedulePoll(): void {
  window.clearTimeout(state.poll);
  if (state.view !== 'status' || !state.registration || !polling(state.registration.status)) return;
  state.poll = window.setTimeout(() => {
    const before = state.registration?.status;
    loadStatus()
      .then(() => {
        const now = state.registration?.status;
        if (now === before) return;
        if (now === 'nik_rejected' && state.registration?.nikCorrectable) $('correct-title').focus();
        else if (now === 'nik_verified') $('batch-title').focus();
      })
      .catch((e: unknown) => {
        showError(e);
        schedulePoll();
      });
  }, 2000);
}

async function toStatus(): Promise<void> {
  show('status', 'status-title');
  await loadStatus();
}

function value(id: string): string {
  return $<HTMLInputElement>(id).value.trim();
}

/** A form's submit: no page load; its action run by `busy` with the form's submit button. */
function onSubmit(formId: string, action: () => Promise<void>, fieldPrefix = ''): void {
  const form = $<HTMLFormElement>(formId);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(form.querySelector<HTMLButtonElement>('button[type=submit]')!, action, fieldPrefix);
  });
}

function wire(): void {
  document.querySelectorAll<HTMLButtonElement>('[data-lang]').forEach((b) => b.addEventListener('click', () => setLanguage(b.dataset.lang as Lang)));

  onSubmit('register-form', async () => {
    const body = { fullName: value('fullName'), nik: value('nik'), email: value('email'), phone: value('phone'), birthDate: value('birthDate') };
    const accepted = await client.ok(client.api.POST('/v1/registrations', { body }));
    state.registrationId = accepted.registrationId;
    state.email = body.email;
    persist();
    show('verify', 'verify-title');
  });

  onSubmit('verify-form', async () => {
    const registrationId = state.registrationId!;
    await client.ok(
      client.api.POST('/v1/email-verifications/{registrationId}/confirm', { params: { path: { registrationId } }, body: { code: value('code') } }),
    );
    state.emailVerified = true;
    await toStatus();
  });

  $('resend').addEventListener('click', () => {
    void busy($<HTMLButtonElement>('resend'), async () => {
      const registrationId = state.registrationId!;
      await client.ok(client.api.POST('/v1/email-verifications/{registrationId}/resend', { params: { path: { registrationId } } }));
      notice(tr('resent'));
    });
  });

  $('to-signin').addEventListener('click', () => {
    clearMessages();
    show('signin', 'signin-title');
  });
  $('to-register').addEventListener('click', () => {
    clearMessages();
    show('register', 'register-title');
  });

  onSubmit(
    'signin-form',
    async () => {
      state.email = value('signin-email');
      await client.ok(client.api.POST('/v1/sessions', { body: { email: state.email } }));
      persist();
      $('signin-code-form').hidden = false;
      renderDynamic();
      $('signin-code').focus();
    },
    'signin-',
  );

  onSubmit(
    'signin-code-form',
    async () => {
      const signed = await client.ok(client.api.POST('/v1/sessions/verify', { body: { email: state.email ?? '', code: value('signin-code') } }));
      state.registrationId = signed.registrationId;
      persist();
      await toStatus();
    },
    'signin-',
  );

  onSubmit(
    'correct-form',
    async () => {
      const id = state.registrationId!;
      await client.ok(client.api.POST('/v1/registrations/{id}/nik', { params: { path: { id } }, body: { nik: value('correct-nik') } }));
      await loadStatus();
      $('status-title').focus();
    },
    'correct-',
  );

  onSubmit('batch-form', async () => {
    const batchId = document.querySelector<HTMLInputElement>('input[name="batchId"]:checked')?.value;
    if (!batchId) {
      document.querySelector<HTMLInputElement>('input[name="batchId"]')?.focus();
      throw new ApiError(400, 'VALIDATION_FAILED', tr('required'));
    }
    const seat = await client.ok(client.api.POST('/v1/enrollments', { body: { registrationId: state.registrationId!, batchId } }));
    state.enrollment = { ...seat, status: 'active' };
    renderDynamic();
    $('enrolled-title').focus();
  });

  $('batch-reload').addEventListener('click', () => {
    void busy($<HTMLButtonElement>('batch-reload'), async () => {
      await loadBatches();
      renderDynamic();
    });
  });

  $('withdraw').addEventListener('click', () => {
    void busy($<HTMLButtonElement>('withdraw'), async () => {
      const registrationId = state.registrationId!;
      state.enrollment = await client.ok(client.api.DELETE('/v1/enrollments/{registrationId}', { params: { path: { registrationId } } }));
      await loadBatches();
      renderDynamic();
      $('batch-title').focus();
    });
  });

  $('sign-out').addEventListener('click', () => {
    void busy($<HTMLButtonElement>('sign-out'), async () => {
      await client.ok(client.api.DELETE('/v1/sessions'));
      window.clearTimeout(state.poll);
      state.registrationId = undefined;
      state.registration = undefined;
      persist();
      show('register', 'register-title');
    });
  });
}

function start(): void {
  wire();
  applyLanguage();
  if (state.registrationId) {
    // A reload: the cookie may still be valid; if not, the applicant signs in again.
    show('status', 'status-title');
    loadStatus().catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 401) show('signin', 'signin-title');
      else showError(e);
    });
  }
}

start();
