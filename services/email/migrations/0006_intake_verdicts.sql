-- Decision 0024: the intake's projector alone decides which registration holds an address (it is the
-- one that stores them; while Redis is bypassed two registrations with one address can both be
-- accepted, and this consumer may see them in another order than the projector). A registration is
-- mailed a code only once the projector announced it stored (registration.status-changed.v1
-- pending_email_verification); one it rejected (rejected_duplicate) is mailed the notice of its kind.
-- admitted_at: when that verdict arrived (rows stored before this migration were mailed already).
ALTER TABLE verifications ADD COLUMN admitted_at timestamptz;
UPDATE verifications SET admitted_at = created_at;

-- This service no longer decides between two registrations of one address: the unique index goes,
-- a plain one serves the sign-in lookup.
DROP INDEX verifications_email_once;
CREATE INDEX verifications_email ON verifications (email_index) WHERE superseded_at IS NULL AND notice IS NULL;

-- The projector's verdicts, by registration: a verdict may arrive before the submission it is about
-- (another topic, another consumer group), so it is kept until the submission comes. A row with no
-- status is the submission's place-holder: both consumers write this row first, so the one that
-- commits second always sees the other's (see VerificationsRepository.insertSubmitted).
CREATE TABLE intake_verdicts (
  registration_id uuid PRIMARY KEY,
  status          text CHECK (status IN ('accepted', 'rejected')),
  reason          text,
  decided_at      timestamptz
);
