-- A NIK is held by the registration the population registry matched it for (name and birth date):
-- at most one registration per NIK is ever verified. Several registrations may name one NIK (the
-- intake lets a few wait side by side so a made-up name cannot block the real owner); the first
-- match takes the hold, any other ends rejected NIK_ALREADY_HELD. Holds are never released here.
CREATE TABLE nik_holders (
  nik_index       text PRIMARY KEY,
  registration_id uuid NOT NULL,
  held_at         timestamptz NOT NULL
);

-- Backfill: each registration whose latest attempt is verified holds that attempt's NIK. Should two
-- registrations already be verified for one NIK (the intake refused that until now), the earlier
-- verification keeps the hold; what was announced then stands.
INSERT INTO nik_holders (nik_index, registration_id, held_at)
SELECT DISTINCT ON (nik_index) nik_index, registration_id, checked_at
FROM (
  SELECT DISTINCT ON (registration_id) registration_id, nik_index, state, checked_at
  FROM checks
  ORDER BY registration_id, attempt DESC
) latest
WHERE state = 'verified'
ORDER BY nik_index, checked_at, registration_id;

ALTER TABLE checks
  DROP CONSTRAINT checks_reason_check,
  ADD CONSTRAINT checks_reason_check CHECK (reason IN ('NIK_NOT_FOUND', 'DATA_MISMATCH', 'NIK_INACTIVE', 'NIK_ALREADY_HELD'));
