-- Decision 0024: a sender that died after storing its code (and perhaps after the provider took the
-- mail) leaves the row claimed, its pending code recorded under that claim. pending_at says when: the
-- mail is sent again no sooner than the resend cooldown after it.
ALTER TABLE verifications ADD COLUMN pending_at timestamptz;
UPDATE verifications SET pending_at = updated_at WHERE pending_code_hmac IS NOT NULL;
CREATE INDEX verifications_orphaned_sends ON verifications (mail_due_at) WHERE pending_claim_token = claim_token;
