-- The queue: one row per accepted message (stored once) and one row per
-- recipient in email_sends, which the relay claims, leases and updates. A
-- message is committed with all its recipients in one transaction before the
-- client hears 250.
CREATE TABLE email_queue (
    id             text PRIMARY KEY,            -- the queue id in "250 2.0.0 Ok: queued as <id>"
    submitted_by   text NOT NULL,               -- the [[user]] that submitted it
    client_address text NOT NULL,
    mail_from      text NOT NULL,
    envid          text,                        -- DSN ENVID (RFC 3461)
    ret            text CHECK (ret IN ('FULL', 'HDRS')),
    body_type      text NOT NULL DEFAULT '7BIT' CHECK (body_type IN ('7BIT', '8BITMIME', 'BINARYMIME')),
    smtputf8       boolean NOT NULL DEFAULT false,
    message_id     text,                        -- the Message-ID header, for threading and bounce matching
    size           integer NOT NULL,
    message        bytea NOT NULL,              -- the raw message as relayed, headers we added included
    priority       smallint NOT NULL CHECK (priority BETWEEN 0 AND 4),  -- 0 critical .. 4 bulk
    not_before     timestamptz NOT NULL DEFAULT now(),                 -- FUTURERELEASE
    held           boolean NOT NULL DEFAULT false,                     -- `mailgate queue hold`
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE email_sends (
    id                bigserial PRIMARY KEY,
    queue_id          text NOT NULL REFERENCES email_queue (id) ON DELETE CASCADE,
    recipient         text NOT NULL,
    orcpt             text,                     -- DSN ORCPT
    notify            text,                     -- DSN NOTIFY, e.g. 'FAILURE,DELAY' or 'NEVER'
    priority          smallint NOT NULL CHECK (priority BETWEEN 0 AND 4),
    status            text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'sending', 'deferred', 'sent', 'failed', 'suppressed', 'held')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    lease_owner       text,                     -- the node relaying it now
    lease_expires_at  timestamptz,
    account           text,                     -- the account it was (last) relayed through
    last_reply        text,                     -- the upstream's last reply, verbatim
    upstream_queue_id text,
    wait_reason       text,                     -- why it waits: limit, window, account or retry
    sent_at           timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- The relay's claim: ready recipients by priority, then due time. Partial, so
-- its size follows the waiting work, not the history.
CREATE INDEX email_sends_ready ON email_sends (priority, next_attempt_at)
    WHERE status IN ('queued', 'deferred');
-- Leases of a node that died, picked up once they expire.
CREATE INDEX email_sends_leased ON email_sends (lease_expires_at) WHERE status = 'sending';
CREATE INDEX email_sends_queue ON email_sends (queue_id);
CREATE INDEX email_queue_message_id ON email_queue (message_id) WHERE message_id IS NOT NULL;
