-- Account health and retention. A pause now says what ends it (resume_on):
-- its window ('window', paused_until), a passing health check ('health_check',
-- tried from health_check_after; one node claims each check by moving that
-- time), or an operator ('operator': bounce rate, `mailgate accounts pause`).
-- bounce_window_start: only sends after it count towards the bounce rate, so an
-- account an operator resumed is judged on its new sends.
ALTER TABLE email_accounts
    ADD COLUMN resume_on text CHECK (resume_on IN ('window', 'health_check', 'operator')),
    ADD COLUMN health_check_after timestamptz,
    ADD COLUMN last_health_check_result text,
    ADD COLUMN bounce_window_start timestamptz;

-- The bounce rate reads each account's most recent sends (a bounce turns a sent row failed).
CREATE INDEX email_sends_account_sent ON email_sends (account, sent_at) WHERE sent_at IS NOT NULL;
-- Retention finds old rows by age without scanning whole tables.
CREATE INDEX email_queue_created ON email_queue (created_at);
-- Only messages whose raw bytes are still kept, so purged ones drop out of it.
CREATE INDEX email_messages_raw_kept ON email_messages (received_at) WHERE octet_length(raw) > 0;
CREATE INDEX email_threads_last_message ON email_threads (last_message_at);
CREATE INDEX email_attachments_created ON email_attachments (created_at);
