-- NIK corrections (POST /v1/registrations/:id/nik): which registry check is current, and why the last
-- one failed. attempt 0 on progress means "a status that is not about a NIK check".
ALTER TABLE registrations ADD COLUMN nik_attempt smallint NOT NULL DEFAULT 1;
ALTER TABLE registration_progress ADD COLUMN attempt smallint NOT NULL DEFAULT 0;
ALTER TABLE registration_progress ADD COLUMN reason text;
