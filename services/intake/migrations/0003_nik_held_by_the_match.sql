-- Issue #13: a NIK is no longer taken by the first registration that names it (a squatter with a
-- made-up name could block its owner for good). Several pending registrations may name one NIK; it
-- is held by the one the population registry matches (the NIK service keeps one match per NIK, and the
-- projector then rejects the others). The email stays unique among registrations not rejected.
DROP INDEX IF EXISTS registrations_nik_once;
CREATE INDEX IF NOT EXISTS registrations_nik ON registrations (nik_index);
