-- One row per registration that is to verify its email address (registration.submitted.v1).
-- Personal data stays sealed as received (AES-256-GCM, AAD = field name); only the HMAC of the
-- current code is kept, never the code.
CREATE TABLE verifications (
  registration_id   uuid PRIMARY KEY,
  event_id          uuid NOT NULL,
  email_index       text NOT NULL,
  email_enc         text NOT NULL,
  email_masked      text NOT NULL,
  nik_index         text NOT NULL,
  nik_enc           text NOT NULL,
  full_name_enc     text NOT NULL,
  birth_date_enc    text NOT NULL,
  province_code     char(2) NOT NULL,
  submitted_at      timestamptz NOT NULL,
  -- Set when the registration stops owning its address (kept out of the uniqueness below).
  superseded_at     timestamptz,
  -- The mail queue: non-null = a mail is owed from this time on (first mail, resend, retry, or the
  -- end of a sender's lease). The sender claims due rows with FOR UPDATE SKIP LOCKED.
  mail_due_at       timestamptz,
  mail_failures     integer NOT NULL DEFAULT 0,
  claim_token       uuid,
  -- The current code: null while a (new) mail is owed.
  code_hmac         text,
  expires_at        timestamptz,
  failed_attempts   integer NOT NULL DEFAULT 0,
  send_count        integer NOT NULL DEFAULT 0,
  sent_at           timestamptz,
  -- Mails asked for in the current window (the first mail counts), for EMAIL_MAX_SENDS.
  window_started_at timestamptz NOT NULL DEFAULT now(),
  window_sends      integer NOT NULL DEFAULT 1,
  verified_at       timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- One address, one registration (the intake rejects the later one as rejected_duplicate).
CREATE UNIQUE INDEX verifications_email_once ON verifications (email_index) WHERE superseded_at IS NULL;
CREATE INDEX verifications_mail_due ON verifications (mail_due_at) WHERE mail_due_at IS NOT NULL;
