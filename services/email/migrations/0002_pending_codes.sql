-- The code of a mail being sent, stored BEFORE the SMTP send: an applicant who reads the mail and
-- confirms at once must find the code even though the sender has not yet recorded the mail as sent.
-- markSent makes it the current code (code_hmac, expires_at) and clears these columns. After an SMTP
-- failure it stays acceptable until it expires (the provider may have delivered the mail despite the
-- error), until the retry replaces it, or until a resend kills it. Only its HMAC is kept, never the code.
ALTER TABLE verifications
  ADD COLUMN pending_code_hmac   text,
  ADD COLUMN pending_expires_at  timestamptz,
  -- The claim the pending code was mailed under: while it equals claim_token (and the lease runs) the
  -- mail is in flight; otherwise the code was left by a failed or abandoned send.
  ADD COLUMN pending_claim_token uuid;
