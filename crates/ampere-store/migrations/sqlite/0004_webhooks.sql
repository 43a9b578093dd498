-- Webhook subscriptions and their delivery outbox: an event owed to a subscription is stored
-- here before the first attempt, so neither a receiver that is down nor a restart loses it.

CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    url         TEXT NOT NULL,
    -- JSON arrays of text; empty = all
    event_types TEXT NOT NULL,
    charger_ids TEXT NOT NULL,
    -- the HMAC key (it must be kept as given to sign with it)
    secret      TEXT NOT NULL,
    active      INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Attempted in id order per subscription (the order the events happened).
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL,
    event_type      TEXT NOT NULL,
    charger_id      TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL,
    next_attempt_at TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, state, id);

CREATE TABLE webhook_attempts (
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    at          TEXT NOT NULL,
    http_status INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, number)
);
