-- Decision 0024: one attempt, at most one registry verification. Each check has an id of its own that
-- is sent with every call made for it (Idempotency-Key): a registry that honours it answers a repeated
-- id from what it answered before instead of verifying again — after a crash between its answer and our
-- record, after a timeout whose answer was lost. The call is recorded before it leaves (calls_started,
-- call_started_at): a check that comes back from a lease with a call started and no decision is one
-- whose outcome is unknown, asked again under the same id.
ALTER TABLE checks
  ADD COLUMN call_id uuid NOT NULL DEFAULT gen_random_uuid(),
  ADD COLUMN calls_started integer NOT NULL DEFAULT 0,
  ADD COLUMN call_started_at timestamptz;
