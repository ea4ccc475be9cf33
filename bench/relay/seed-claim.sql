-- Seeds the queue for bench/relay's claim latency: psql -v first=N -v count=N -v mode=due|background.
-- Ids are 'B' and 16 digits (one recipient per message). `due`: normal class, due now, so every
-- claim finds them. `background`: queued work the claim must not take or must take only a
-- bounded share of: half held back by FUTURERELEASE (next_attempt_at tomorrow), a fifth deferred
-- by a retry an hour away, a tenth held by the admin, a fifth in the bulk class and due (the
-- lowest class, which the scheduler gives only its small guaranteed share). Sent history adds
-- nothing the claim could see and is left out.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE seed ON COMMIT DROP AS
SELECT n, 'B' || lpad(n::text, 16, '0') AS id,
       CASE WHEN :'mode' = 'due' THEN 'due'
            WHEN n % 10 < 5 THEN 'later'
            WHEN n % 10 < 7 THEN 'retry'
            WHEN n % 10 < 8 THEN 'held'
            ELSE 'bulk' END AS kind
FROM generate_series(:first, :first + :count - 1) AS n;

INSERT INTO email_queue (id, submitted_by, client_address, mail_from, size, message, priority, not_before, held)
SELECT id, 'bench', '127.0.0.1', 'bench@example.test', 64,
       convert_to('From: bench@example.test' || chr(13) || chr(10) || 'Subject: ' || id || chr(13) || chr(10)
                  || chr(13) || chr(10) || 'x' || chr(13) || chr(10), 'UTF8'),
       CASE kind WHEN 'bulk' THEN 4 ELSE 2 END,
       CASE kind WHEN 'later' THEN now() + interval '1 day' ELSE now() - interval '1 minute' END,
       kind = 'held'
FROM seed;

INSERT INTO email_sends (queue_id, recipient, priority, status, attempts, next_attempt_at, wait_reason)
SELECT id, 'r' || n || '@example.org', CASE kind WHEN 'bulk' THEN 4 ELSE 2 END,
       CASE kind WHEN 'retry' THEN 'deferred' WHEN 'held' THEN 'held' ELSE 'queued' END,
       CASE kind WHEN 'retry' THEN 2 ELSE 0 END,
       CASE kind WHEN 'later' THEN now() + interval '1 day'
                 WHEN 'retry' THEN now() + interval '1 hour' * (1 + n % 7)
                 ELSE now() - interval '1 second' * (n % 600) END,
       CASE kind WHEN 'retry' THEN '451 4.3.0 try again' END
FROM seed;
COMMIT;
ANALYZE email_queue;
ANALYZE email_sends;
