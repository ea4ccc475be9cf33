-- Keys every node must share and that must outlive a restart. 'unsubscribe'
-- signs List-Unsubscribe tokens when [unsubscribe] names no secret_file: the
-- first node to need it inserts 32 random bytes, every node reads the same row.
CREATE TABLE email_secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
