-- Sends per account and window, counted inside PostgreSQL so that every node
-- together respects the limits: a send takes room with one conditional upsert
-- per window, in the transaction that claims it.
CREATE TABLE email_rate_counters (
    account      text NOT NULL,
    window_kind  text NOT NULL CHECK (window_kind IN ('minute', 'hour', 'day')),
    window_start timestamptz NOT NULL,
    sent         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (account, window_kind, window_start)
);
