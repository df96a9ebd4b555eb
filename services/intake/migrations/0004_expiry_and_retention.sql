-- Issue #13: a registration that never verifies its email expires (and releases what it claimed);
-- one that ended unverified, duplicate or rejected loses its sealed personal data after the retention
-- period (UU PDP 27/2022). The email stays unique among registrations still pending.
ALTER TABLE registrations DROP CONSTRAINT IF EXISTS registrations_status_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_status_check
  CHECK (status IN ('pending_email_verification', 'rejected_duplicate', 'expired'));
ALTER TABLE registrations ADD COLUMN IF NOT EXISTS pii_erased_at timestamptz;
DROP INDEX IF EXISTS registrations_email_once;
CREATE UNIQUE INDEX registrations_email_once ON registrations (email_index) WHERE status = 'pending_email_verification';
CREATE INDEX IF NOT EXISTS registrations_pending_by_age ON registrations (submitted_at) WHERE status = 'pending_email_verification';
