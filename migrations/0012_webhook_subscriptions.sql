-- Only events some webhook subscribes to enter the outbox. Without this every
-- queued, sent and deferred event wrote an outbox row (and woke the
-- dispatchers) even on installations with no [[webhook]] at all, which cost
-- each submission and each relayed message extra writes. Serve nodes record
-- the event types their config's webhooks want; a type stays subscribed after
-- a webhook is removed (its rows are then fanned out to nobody), since one
-- node cannot know that no other node's config still wants it.

CREATE TABLE webhook_subscriptions (
    event      text PRIMARY KEY,                -- an email_events event, or 'received'
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION webhook_event_from_email_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE event = NEW.event) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_events (type, email_event_id, data, created_at)
    VALUES (NEW.event, NEW.id,
            jsonb_build_object('queue_id', NEW.queue_id, 'recipient', NEW.recipient, 'account', NEW.account,
                               'reason', NEW.reason, 'detail', NEW.detail, 'email_event_id', NEW.id),
            NEW.created_at);
    -- Delivered at commit, folded with repeats of the same transaction.
    PERFORM pg_notify('mailgate_webhooks', '');
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION webhook_event_from_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE event = 'received') THEN
        RETURN NULL;
    END IF;
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
    PERFORM pg_notify('mailgate_webhooks', '');
    RETURN NULL;
END
$$;

-- The row functions notify now, only when they wrote an outbox row.
DROP TRIGGER email_events_notify_webhooks ON email_events;
DROP TRIGGER email_messages_notify_webhooks ON email_messages;
DROP FUNCTION webhook_notify();
