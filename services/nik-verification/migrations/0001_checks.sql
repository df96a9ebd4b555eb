-- One row per registry check: (registration, attempt). Attempt 1 follows email verification; each NIK
-- correction adds the next. Personal data stays sealed as received (AES-256-GCM, field name as AAD)
-- and is opened only in memory for the registry call.
CREATE TABLE checks (
  registration_id uuid NOT NULL,
  attempt         integer NOT NULL CHECK (attempt > 0),
  event_id        text NOT NULL,
  nik_enc         text NOT NULL,
  full_name_enc   text NOT NULL,
  birth_date_enc  text NOT NULL,
  nik_index       text NOT NULL,
  province_code   char(2) NOT NULL,
  state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'verified', 'rejected')),
  reason          text CHECK (reason IN ('NIK_NOT_FOUND', 'DATA_MISMATCH', 'NIK_INACTIVE')),
  correctable     boolean,
  -- Registry calls made for this check (answered or not).
  tries           integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- A checker claims due rows by writing its lease; a dead checker's lease simply runs out.
  lease_id        uuid,
  lease_until     timestamptz,
  -- Why the last call did not decide (REGISTRY_UNAVAILABLE, …): a code, never data.
  last_error      text,
  requested_at    timestamptz NOT NULL,
  checked_at      timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (registration_id, attempt),
  CHECK ((state = 'queued') = (checked_at IS NULL)),
  CHECK ((state = 'rejected') = (reason IS NOT NULL))
);

CREATE INDEX checks_due ON checks (next_attempt_at) WHERE state = 'queued';
