-- Decision 0024: which registrations exist is the intake's decision (its projector stores them and
-- decides between two registrations of one address while Redis is bypassed). A registration it
-- rejected (registration.status-changed.v1 rejected_duplicate) or expired may not enroll, whatever
-- eligibility says: kept here, since a rejection may overtake the nik.verified.v1 it concerns.
CREATE TABLE intake_rejections (
  registration_id uuid PRIMARY KEY,
  status          text NOT NULL,
  reason          text,
  rejected_at     timestamptz NOT NULL DEFAULT now()
);
