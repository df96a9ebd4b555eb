/**
 * The applicant's session (decision 0017): a token the email service signs when a code is proved
 * (confirm, sign-in) or a session refreshed. Apps and tests keep it in memory and send it as
 * `Authorization: Bearer`; the same-origin web page leaves it to the HttpOnly cookie the same answer
 * sets, so no script ever holds it.
 */
export type SessionMode = 'bearer' | 'cookie';

export interface SessionView {
  token: string;
  expiresAt: string;
}

/** Answers that hand out a session in their body: `{ registrationId, session: { token, expiresAt } }`. */
const ISSUING = [/\/v1\/email-verifications\/[^/]+\/confirm$/, /\/v1\/sessions\/verify$/, /\/v1\/sessions\/refresh$/];

export const issuesSession = (method: string, path: string): boolean => method === 'POST' && ISSUING.some((re) => re.test(path));
export const endsSession = (method: string, path: string): boolean => method === 'DELETE' && /\/v1\/sessions$/.test(path);

export class SessionHolder {
  private current: { registrationId: string; token: string; expiresAt: number } | undefined;

  constructor(readonly mode: SessionMode) {}

  /** The bearer token to send, if this holder keeps one (never in cookie mode). */
  get token(): string | undefined {
    return this.current?.token;
  }

  /** The registration the kept session is for. */
  get registrationId(): string | undefined {
    return this.current?.registrationId;
  }

  /** When the kept token expires (ms since the epoch). */
  get expiresAt(): number | undefined {
    return this.current?.expiresAt;
  }

  /** Keeps a session from an answer's body (bearer mode only) — or one an app stored itself. */
  set(registrationId: string, session: SessionView): void {
    if (this.mode !== 'bearer') return;
    this.current = { registrationId, token: session.token, expiresAt: Date.parse(session.expiresAt) };
  }

  clear(): void {
    this.current = undefined;
  }
}
