-- Ingested mail as conversations: every message (IMAP sync, inbound SMTP,
-- what the relay sent) once, with raw bytes, headers, participants, snippet
-- and attachments stored once per SHA-256, grouped into threads. Threading
-- looks messages up by Message-ID (btree) and by what they reference (GIN on
-- the references array: "which stored messages name this id" for mail that
-- arrives before its parent, e.g. INBOX synced before Sent).

-- IMAP sync state per account and folder: resume after last_uid while
-- UIDVALIDITY is unchanged, resync the folder when it changes.
CREATE TABLE email_folders (
    account     text NOT NULL,
    name        text NOT NULL,
    uidvalidity bigint,
    last_uid    bigint NOT NULL DEFAULT 0,
    synced_at   timestamptz,
    PRIMARY KEY (account, name)
);

CREATE TABLE email_threads (
    id                 bigserial PRIMARY KEY,
    subject_normalised text NOT NULL,          -- lower-cased, Re:/Fwd:/[list] stripped
    first_message_at   timestamptz NOT NULL,
    last_message_at    timestamptz NOT NULL,
    message_count      integer NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now()
);
-- The subject fallback: same normalised subject, recent activity.
CREATE INDEX email_threads_subject ON email_threads (subject_normalised, last_message_at);

CREATE TABLE email_messages (
    id                 bigserial PRIMARY KEY,
    thread_id          bigint NOT NULL REFERENCES email_threads (id),
    account            text NOT NULL,
    folder             text,                   -- NULL for mail not read from a folder (inbound SMTP, relayed)
    uid                bigint,
    direction          text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    message_id         text,                   -- without angle brackets
    in_reply_to        text,
    "references"       text[] NOT NULL DEFAULT '{}',  -- oldest first, as written
    subject            text NOT NULL DEFAULT '',
    subject_normalised text NOT NULL DEFAULT '',
    sent_at            timestamptz,            -- the Date header, when it parses
    received_at        timestamptz NOT NULL DEFAULT now(),
    raw                bytea NOT NULL,
    headers            jsonb NOT NULL,         -- [{"name": ..., "value": ...}] in order
    snippet            text NOT NULL DEFAULT '',
    body_sha256        text NOT NULL,          -- hex; body with CRLF line ends, trailing ones dropped
    size               integer NOT NULL,
    report_type        text CHECK (report_type IN ('bounce', 'feedback', 'auto_reply', 'delivery_receipt')),
    queue_id           text REFERENCES email_queue (id) ON DELETE SET NULL,  -- a message we relayed
    created_at         timestamptz NOT NULL DEFAULT now(),
    -- The same message read twice (same folder and UID, or the same Message-ID and body) is stored once.
    UNIQUE (account, folder, uid),
    UNIQUE (message_id, body_sha256)
);
CREATE INDEX email_messages_thread ON email_messages (thread_id, sent_at);
CREATE INDEX email_messages_message_id ON email_messages (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX email_messages_in_reply_to ON email_messages (in_reply_to) WHERE in_reply_to IS NOT NULL;
CREATE INDEX email_messages_references ON email_messages USING gin ("references");
CREATE INDEX email_messages_queue ON email_messages (queue_id) WHERE queue_id IS NOT NULL;

CREATE TABLE email_message_participants (
    message_id   bigint NOT NULL REFERENCES email_messages (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('from', 'to', 'cc', 'bcc', 'reply_to')),
    address      text NOT NULL,                -- lower-cased
    display_name text,
    position     integer NOT NULL,
    PRIMARY KEY (message_id, role, address)
);
-- "Everything with this person", and the subject fallback's participant overlap.
CREATE INDEX email_message_participants_address ON email_message_participants (address);

CREATE TABLE email_attachments (
    sha256       text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content      bytea NOT NULL,
    size         integer NOT NULL,
    content_type text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE email_message_attachments (
    message_id   bigint NOT NULL REFERENCES email_messages (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    sha256       text NOT NULL REFERENCES email_attachments (sha256),
    filename     text,
    content_type text NOT NULL,
    PRIMARY KEY (message_id, position)
);
CREATE INDEX email_message_attachments_sha256 ON email_message_attachments (sha256);

-- Bounce matching and the soft-bounce streak read an address's sends newest first.
CREATE INDEX email_sends_recipient ON email_sends (lower(recipient), sent_at);
CREATE INDEX email_events_send ON email_events (send_id) WHERE send_id IS NOT NULL;
