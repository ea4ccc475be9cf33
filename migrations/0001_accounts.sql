-- Upstream accounts: their configuration lives in conf/mailgate.toml; this
-- table mirrors it and holds the state every node must agree on (paused, why,
-- until when, health), so `mailgate accounts status` reads one place.
CREATE TABLE email_accounts (
    name                 text PRIMARY KEY,
    address              text NOT NULL,
    status               text NOT NULL DEFAULT 'active'
                         CHECK (status IN ('active', 'paused', 'disabled')),
    pause_reason         text,
    paused_until         timestamptz,
    health               text NOT NULL DEFAULT 'unknown'
                         CHECK (health IN ('unknown', 'healthy', 'unhealthy')),
    last_health_check_at timestamptz,
    warmup_started       date,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
