-- Event webhooks through an outbox. Every email_events row and every inbound
-- message stored by ingestion becomes a webhook_events row in the same
-- transaction (triggers), so an event is never recorded without its outbox row
-- and nothing is lost while mailgate or a receiver is down. The dispatcher of
-- each serve node fans new rows out to the configured webhooks (one
-- webhook_deliveries row per subscribed webhook, by name: webhooks live in the
-- config, not here), then claims due deliveries with FOR UPDATE SKIP LOCKED
-- under a lease and POSTs them, retrying with backoff until delivered or failed.

CREATE TABLE webhook_events (
    id               bigserial PRIMARY KEY,       -- the stable event id receivers deduplicate on
    type             text NOT NULL,               -- an email_events event, or 'received'
    email_event_id   bigint,                      -- its email_events row (no FK: retention may purge it)
    email_message_id bigint,                      -- its email_messages row, for 'received'
    data             jsonb NOT NULL,              -- the body's fields beside id, type and created_at
    created_at       timestamptz NOT NULL DEFAULT now(),
    fanned_out       boolean NOT NULL DEFAULT false
);
-- New events wait here for the fan-out; the index holds only those.
CREATE INDEX webhook_events_pending ON webhook_events (id) WHERE NOT fanned_out;

CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    event_id         bigint NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    webhook          text NOT NULL,               -- the [[webhook]] name (its url unless named)
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_owner      text,                        -- the node posting it now
    lease_expires_at timestamptz,
    last_status      integer,                     -- the receiver's last HTTP status, if it answered
    last_error       text,                        -- why the last attempt failed
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, webhook)
);
CREATE INDEX webhook_deliveries_ready ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_expires_at) WHERE status = 'sending';

CREATE FUNCTION webhook_event_from_email_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_events (type, email_event_id, data, created_at)
    VALUES (NEW.event, NEW.id,
            jsonb_build_object('queue_id', NEW.queue_id, 'recipient', NEW.recipient, 'account', NEW.account,
                               'reason', NEW.reason, 'detail', NEW.detail, 'email_event_id', NEW.id),
            NEW.created_at);
    RETURN NULL;
END
$$;

CREATE TRIGGER email_events_to_webhooks AFTER INSERT ON email_events
    FOR EACH ROW EXECUTE FUNCTION webhook_event_from_email_event();

CREATE FUNCTION webhook_event_from_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_events (type, email_message_id, data, created_at)
    VALUES ('received', NEW.id,
            jsonb_build_object('queue_id', NEW.queue_id, 'recipient', NULL, 'account', NEW.account, 'reason', NULL,
                               'folder', NEW.folder, 'message_id', NEW.message_id, 'thread_id', NEW.thread_id,
                               'email_message_id', NEW.id, 'subject', NEW.subject, 'report_type', NEW.report_type,
                               -- Guarded: a trigger error would refuse the message itself.
                               'from', CASE WHEN jsonb_typeof(NEW.headers) = 'array' THEN
                                           (SELECT h ->> 'value' FROM jsonb_array_elements(NEW.headers) AS h
                                            WHERE jsonb_typeof(h) = 'object' AND lower(h ->> 'name') = 'from'
                                            LIMIT 1) END),
            NEW.received_at);
    RETURN NULL;
END
$$;

CREATE TRIGGER email_messages_to_webhooks AFTER INSERT ON email_messages
    FOR EACH ROW WHEN (NEW.direction = 'inbound') EXECUTE FUNCTION webhook_event_from_message();

-- Wakes the dispatchers once per statement (delivered at commit; NOTIFY folds repeats anyway).
CREATE FUNCTION webhook_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mailgate_webhooks', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER email_events_notify_webhooks AFTER INSERT ON email_events
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_notify();
CREATE TRIGGER email_messages_notify_webhooks AFTER INSERT ON email_messages
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_notify();
