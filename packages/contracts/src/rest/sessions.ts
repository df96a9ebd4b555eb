import { errorBody } from './registrations';

/**
 * What a route only the applicant of its registration may call (the platform's `applicantOnly`) says in
 * its OpenAPI: who may call it, in its description, and the bodies of its refusals, in its `response`.
 * `fresh`: the step also needs an email code proved lately (withdrawal, NIK correction).
 */
export function applicantOnlyDoc(fresh = false): { description: string; responses: { 401: typeof errorBody; 403: typeof errorBody } } {
  return {
    description:
      'Only the applicant of this registration may call it: send the session the email service issued on confirming the code, as ' +
      '`Authorization: Bearer <token>` or the `gelombang_session` cookie. Without a valid one 401 SESSION_REQUIRED (SESSION_EXPIRED once it ' +
      'has expired), checked before the body is read; with another registration’s 403 SESSION_FORBIDDEN, before anything is looked up.' +
      (fresh ? ' The code must have been proved within SESSION_FRESH_SEC (10 minutes by default), otherwise 401 SESSION_NOT_FRESH: sign in again.' : ''),
    responses: { 401: errorBody, 403: errorBody },
  };
}
