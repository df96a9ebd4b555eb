-- Decision 0024: which registrations exist is the intake's decision (its projector stores them; its
-- unique index decides between two registrations of one address while Redis is bypassed). A
-- registration it rejected (registration.status-changed.v1 rejected_duplicate, for its address: not
-- NIK_HELD, which echoes this service's own hold) or expired is checked against the registry never:
-- no call, no hold. Kept here (a rejection may overtake its check request) and never deleted.
CREATE TABLE intake_rejections (
  registration_id uuid PRIMARY KEY,
  status          text NOT NULL,
  reason          text,
  rejected_at     timestamptz NOT NULL DEFAULT now()
);
