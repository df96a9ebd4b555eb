export type Lang = 'id' | 'en';

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/** What the services answer on a coded 4xx/5xx (docs/errors.md): `message` is in the language asked for. */
export interface ErrorBody {
  code: string;
  message: string;
  errors?: FieldError[];
}

/** The client's own codes, for failures that never reached a service's answer. */
const CLIENT_MESSAGES: Record<string, Record<Lang, string>> = {
  CLIENT_NETWORK_ERROR: {
    id: 'Tidak dapat terhubung ke server. Periksa koneksi internet Anda, lalu coba lagi.',
    en: 'Could not reach the server. Check your internet connection and try again.',
  },
  CLIENT_UNEXPECTED_ANSWER: {
    id: 'Server memberi jawaban yang tidak terduga. Coba lagi beberapa saat lagi.',
    en: 'The server gave an unexpected answer. Try again in a moment.',
  },
};

/**
 * A refused request, as the applicant should read it: the service's code, its message in the language
 * the client asked for (Accept-Language), the per-field messages, and how long to wait when it said.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: FieldError[] = [],
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }

  /** The message of a field (its first), for showing next to its input. */
  fieldMessage(field: string): string | undefined {
    return this.errors.find((e) => e.field === field)?.message;
  }

  static client(code: keyof typeof CLIENT_MESSAGES, lang: Lang, status = 0): ApiError {
    return new ApiError(status, code, CLIENT_MESSAGES[code]![lang]);
  }
}

const isErrorBody = (b: unknown): b is ErrorBody =>
  typeof b === 'object' && b !== null && typeof (b as ErrorBody).code === 'string' && typeof (b as ErrorBody).message === 'string';

/** An ApiError from a refused answer's body (or the client's own code when the body is not a coded error). */
export function toApiError(response: Response, body: unknown, lang: Lang): ApiError {
  const retryAfter = response.headers.get('retry-after');
  const retryAfterSec = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  if (!isErrorBody(body)) {
    const e = ApiError.client('CLIENT_UNEXPECTED_ANSWER', lang, response.status);
    return new ApiError(response.status, e.code, e.message, [], retryAfterSec);
  }
  return new ApiError(response.status, body.code, body.message, body.errors ?? [], retryAfterSec);
}
