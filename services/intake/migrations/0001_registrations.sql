-- The intake's projection of registration.submitted.v1. Personal data is sealed (AES-256-GCM,
-- key id inside each value); uniqueness uses HMAC blind indexes, never plaintext.
CREATE TABLE registrations (
  registration_id      uuid PRIMARY KEY,
  event_id             uuid NOT NULL UNIQUE,
  status               text NOT NULL CHECK (status IN ('pending_email_verification', 'rejected_duplicate')),
  nik_index            text NOT NULL,
  email_index          text NOT NULL,
  nik_enc              text NOT NULL,
  email_enc            text NOT NULL,
  phone_enc            text NOT NULL,
  full_name_enc        text NOT NULL,
  birth_date_enc       text NOT NULL,
  birth_place_enc      text,
  kk_number_enc        text,
  email_masked         text NOT NULL,
  province_code        char(2) NOT NULL,
  idempotency_key_hash text,
  submitted_at         timestamptz NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);

-- One NIK, one registration; one email, one registration. A duplicate that slipped past the Redis
-- fast path is stored as rejected_duplicate, which these partial indexes do not cover.
CREATE UNIQUE INDEX registrations_nik_once ON registrations (nik_index) WHERE status <> 'rejected_duplicate';
CREATE UNIQUE INDEX registrations_email_once ON registrations (email_index) WHERE status <> 'rejected_duplicate';
CREATE INDEX registrations_idempotency ON registrations (idempotency_key_hash) WHERE idempotency_key_hash IS NOT NULL;

-- Later funnel stages (registration.status-changed.v1), kept apart so events may arrive before the
-- submission is projected. rank only moves forward.
CREATE TABLE registration_progress (
  registration_id uuid PRIMARY KEY,
  status          text NOT NULL,
  rank            smallint NOT NULL,
  event_id        uuid NOT NULL,
  changed_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
