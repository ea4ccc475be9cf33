-- Every transition of a recipient (and what ingestion learns later) is an
-- event row; suppressions stop relaying to an address, for every sender
-- (scope '') or for one sender (an unsubscribe).
CREATE TABLE email_events (
    id         bigserial PRIMARY KEY,
    queue_id   text REFERENCES email_queue (id) ON DELETE SET NULL,
    send_id    bigint REFERENCES email_sends (id) ON DELETE SET NULL,
    recipient  text,
    event      text NOT NULL CHECK (event IN (
                   'queued', 'sent', 'deferred', 'failed', 'bounced_hard', 'bounced_soft', 'delayed',
                   'delivered', 'complained', 'unsubscribed', 'suppressed')),
    account    text,
    reason     text,
    detail     text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_events_queue ON email_events (queue_id, created_at);
CREATE INDEX email_events_created ON email_events (created_at);

CREATE TABLE email_suppressions (
    address    text NOT NULL,                   -- lower-cased
    scope      text NOT NULL DEFAULT '',        -- '' for every sender, else the sender address
    reason     text NOT NULL,
    source     text NOT NULL,                   -- bounce, complaint, unsubscribe, admin
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (address, scope)
);
