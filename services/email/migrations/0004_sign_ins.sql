-- Passwordless sign-in for later visits: one row per address anybody asked about or tried a code for,
-- keyed by its blind index (the same HMAC as verifications.email_index), whether or not a registration
-- holds it. Every address gets a row and the same work, so neither POST /v1/sessions nor
-- POST /v1/sessions/verify can tell a registered address from an unknown one; the mail sender alone
-- decides, out of band, that only the address of a verified registration is mailed. Only the HMAC of
-- a code is kept, never the code; no address is stored here.
CREATE TABLE sign_ins (
  email_index                text PRIMARY KEY,
  -- A sign-in mail was asked for and is not decided yet (then the end of a sender's lease, or a retry).
  mail_due_at                timestamptz,
  claim_token                uuid,
  mail_failures              integer NOT NULL DEFAULT 0,
  -- The live code: stored under the claim before the SMTP send, for the registration it was mailed to.
  registration_id            uuid,
  code_hmac                  text,
  expires_at                 timestamptz,
  -- The last sign-in mail the provider accepted, and those of the current window (EMAIL_SIGNIN_MAX_SENDS).
  sent_at                    timestamptz,
  sends_window_started_at    timestamptz,
  window_sends               integer NOT NULL DEFAULT 0,
  -- Wrong codes in the current window (EMAIL_SIGNIN_MAX_ATTEMPTS), whichever code was out, if any.
  attempts_window_started_at timestamptz,
  window_failed_attempts     integer NOT NULL DEFAULT 0,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sign_ins_mail_due ON sign_ins (mail_due_at) WHERE mail_due_at IS NOT NULL;
