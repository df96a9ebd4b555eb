-- Codes tried per registration, across codes: failed_attempts starts over with every new code (a
-- resend), so alone it allowed EMAIL_MAX_SENDS × EMAIL_MAX_ATTEMPTS guesses a window. These count every
-- code checked (EMAIL_MAX_CODE_SUBMISSIONS) in a window of EMAIL_SENDS_WINDOW_SEC opened by the first
-- one; nothing but the end of the window resets them.
ALTER TABLE verifications
  ADD COLUMN submissions_window_started_at timestamptz,
  ADD COLUMN window_submissions            integer NOT NULL DEFAULT 0;
