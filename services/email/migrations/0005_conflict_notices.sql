-- A registration the intake accepted with a conflict (registration.submitted.v1 data.conflict, issue
-- #13) is owed a notice mail of that kind instead of a code mail. Its row takes the same queue, limits
-- and states as any other, so the pre-session routes answer for it as for any registration; but no
-- code ever works for it: the sender stores, in place of a code's HMAC, a random value no code hashes
-- to, and confirm never verifies a row with a notice.
ALTER TABLE verifications
  ADD COLUMN notice text CHECK (notice IN ('EMAIL_REGISTERED', 'NIK_HELD', 'NIK_BUSY'));

-- A registration with a notice is rejected and holds no address (for EMAIL_REGISTERED another
-- registration holds it; the intake's own index also leaves rejected registrations out).
DROP INDEX verifications_email_once;
CREATE UNIQUE INDEX verifications_email_once ON verifications (email_index) WHERE superseded_at IS NULL AND notice IS NULL;
