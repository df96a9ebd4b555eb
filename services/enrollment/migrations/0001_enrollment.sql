-- Training batches (gelombang). `enrolled` is the seat counter every enrollment moves in the same
-- transaction as its row; the CHECK is the last line of defence behind the conditional UPDATE.
-- fillfactor leaves room on the page so the counter's updates stay HOT (no index covers `enrolled`).
CREATE TABLE batches (
  batch_id   text PRIMARY KEY,
  name       text NOT NULL,
  quota      integer NOT NULL CHECK (quota > 0),
  enrolled   integer NOT NULL DEFAULT 0,
  opens_at   timestamptz NOT NULL,
  closes_at  timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT batches_window CHECK (opens_at < closes_at),
  CONSTRAINT batches_enrolled_within_quota CHECK (enrolled >= 0 AND enrolled <= quota)
) WITH (fillfactor = 50);

-- Who may enroll: registrations whose NIK the registry verified (nik.verified.v1). nik_index is the
-- person (HMAC blind index of the NIK); a later attempt's event replaces an earlier one's.
CREATE TABLE eligibility (
  registration_id uuid PRIMARY KEY,
  nik_index       text NOT NULL,
  province_code   char(2) NOT NULL,
  verified_at     timestamptz NOT NULL,
  attempt         integer NOT NULL,
  event_id        uuid NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE enrollments (
  enrollment_id   uuid PRIMARY KEY,
  registration_id uuid NOT NULL,
  nik_index       text NOT NULL,
  batch_id        text NOT NULL REFERENCES batches (batch_id),
  status          text NOT NULL CHECK (status IN ('active', 'withdrawn')),
  enrolled_at     timestamptz NOT NULL DEFAULT now(),
  ended_at        timestamptz,
  CONSTRAINT enrollments_ended_iff_withdrawn CHECK ((status = 'active') = (ended_at IS NULL))
);

-- The promises: one active seat per registration and per person, whatever the concurrency.
CREATE UNIQUE INDEX enrollments_one_active_per_registration ON enrollments (registration_id) WHERE status = 'active';
CREATE UNIQUE INDEX enrollments_one_active_per_person ON enrollments (nik_index) WHERE status = 'active';
CREATE INDEX enrollments_history ON enrollments (registration_id, enrolled_at DESC);
CREATE INDEX enrollments_active_by_batch ON enrollments (batch_id) WHERE status = 'active';
