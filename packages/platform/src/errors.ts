/** A stack without its first line: messages of driver errors can quote the data they choked on. */
export function stackFrames(err: unknown): string | undefined {
  const stack = (err as Error | undefined)?.stack;
  return stack?.split('\n').slice(1).join('\n');
}

export type Lang = 'id' | 'en';
export interface Messages {
  id: string;
  en: string;
}

/** One field problem inside a 400: `code` is stable, `message` follows Accept-Language. */
export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/**
 * A coded error a client may see. `code` is part of the public API and is never reused for another
 * meaning; every code is listed in docs/errors.md (a test keeps the two in step).
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    readonly messages: Messages,
    readonly details: { errors?: FieldError[]; headers?: Record<string, string>; extra?: Record<string, unknown> } = {},
  ) {
    super(messages.en);
    this.name = 'AppError';
  }
}

export interface ErrorDefinition {
  code: string;
  statusCode: number;
  messages: Messages;
  (details?: AppError['details']): AppError;
}

const registry = new Map<string, ErrorDefinition>();

/** Declares a coded error once; calling the result builds an instance. */
export function defineError(code: string, statusCode: number, messages: Messages): ErrorDefinition {
  if (registry.has(code)) throw new Error(`error code ${code} is defined twice`);
  const make = ((details?: AppError['details']) => new AppError(code, statusCode, messages, details)) as ErrorDefinition;
  Object.assign(make, { code, statusCode, messages });
  registry.set(code, make);
  return make;
}

/** Every code defined so far in this process (platform's plus the importing service's). */
export function definedErrors(): ErrorDefinition[] {
  return [...registry.values()];
}

/** Picks `id` unless the client prefers English; Indonesian is the default audience. */
export function pickLang(acceptLanguage: string | undefined): Lang {
  if (!acceptLanguage) return 'id';
  let best: { lang: Lang; q: number } = { lang: 'id', q: -1 };
  for (const part of acceptLanguage.split(',')) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.find((p) => p.trim().startsWith('q='));
    const q = qParam ? Number(qParam.trim().slice(2)) : 1;
    const lang: Lang | undefined = tag.startsWith('en') ? 'en' : tag.startsWith('id') || tag.startsWith('in') ? 'id' : undefined;
    if (lang && q > best.q) best = { lang, q };
  }
  return best.lang;
}

export const VALIDATION_FAILED = defineError('VALIDATION_FAILED', 400, {
  id: 'Data yang dikirim tidak valid. Periksa kolom yang disebutkan.',
  en: 'The submitted data is invalid. Check the listed fields.',
});
export const MALFORMED_JSON = defineError('MALFORMED_JSON', 400, {
  id: 'Isi permintaan bukan JSON yang valid.',
  en: 'The request body is not valid JSON.',
});
export const MALFORMED_URL = defineError('MALFORMED_URL', 400, {
  id: 'Alamat permintaan tidak valid (kode persen yang rusak).',
  en: 'The request URL is invalid (broken percent-encoding).',
});
export const BODY_TOO_LARGE = defineError('BODY_TOO_LARGE', 413, {
  id: 'Isi permintaan terlalu besar.',
  en: 'The request body is too large.',
});
export const UNSUPPORTED_MEDIA_TYPE = defineError('UNSUPPORTED_MEDIA_TYPE', 415, {
  id: 'Kirim data sebagai application/json.',
  en: 'Send the data as application/json.',
});
export const ROUTE_NOT_FOUND = defineError('ROUTE_NOT_FOUND', 404, {
  id: 'Alamat tidak dikenal.',
  en: 'No such endpoint.',
});
export const RATE_LIMITED = defineError('RATE_LIMITED', 429, {
  id: 'Terlalu banyak permintaan. Coba lagi setelah waktu yang ditunjukkan Retry-After.',
  en: 'Too many requests. Try again after the time given in Retry-After.',
});
export const SERVICE_UNAVAILABLE = defineError('SERVICE_UNAVAILABLE', 503, {
  id: 'Layanan sedang sibuk. Data Anda belum diterima; silakan coba lagi.',
  en: 'The service is busy. Your data was not accepted; please try again.',
});
/** PostgreSQL or Redis refused, dropped the connection or did not answer in time (http.ts answers it, with Retry-After). */
export const STORE_UNAVAILABLE = defineError('STORE_UNAVAILABLE', 503, {
  id: 'Layanan sedang tidak dapat menjangkau datanya. Coba lagi setelah waktu yang ditunjukkan Retry-After.',
  en: 'The service cannot reach its data right now. Try again after the time given in Retry-After.',
});
export const INTERNAL_ERROR = defineError('INTERNAL_ERROR', 500, {
  id: 'Terjadi kesalahan pada sistem kami.',
  en: 'Something went wrong on our side.',
});

/** Applicant sessions (session.ts, plugins/session.ts): every service that guards applicant routes answers these. */
export const SESSION_REQUIRED = defineError('SESSION_REQUIRED', 401, {
  id: 'Silakan masuk terlebih dahulu: langkah ini memerlukan sesi pendaftar.',
  en: 'Please sign in first: this step needs an applicant session.',
});
export const SESSION_EXPIRED = defineError('SESSION_EXPIRED', 401, {
  id: 'Sesi Anda sudah berakhir. Perbarui sesi atau masuk kembali dengan kode dari email.',
  en: 'Your session has ended. Refresh it, or sign in again with a code from your email.',
});
export const SESSION_NOT_FRESH = defineError('SESSION_NOT_FRESH', 401, {
  id: 'Demi keamanan, masuk kembali dengan kode dari email sebelum melakukan langkah ini.',
  en: 'For your safety, sign in again with a code from your email before this step.',
});
export const SESSION_FORBIDDEN = defineError('SESSION_FORBIDDEN', 403, {
  id: 'Sesi ini milik pendaftaran lain.',
  en: 'This session belongs to another registration.',
});
