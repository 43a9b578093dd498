-- The security log: what chargers report (SecurityEventNotification) and what Ampere saw
-- at its charger endpoint. Not tied to chargers by a foreign key: the log outlives them, and
-- Ampere's events name identities that were only claimed.

CREATE TABLE security_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    source      TEXT NOT NULL,
    charger_id  TEXT,
    event_type  TEXT NOT NULL,
    remote_addr TEXT,
    occurred_at TEXT,
    tech_info   TEXT,
    detail      TEXT NOT NULL
);

CREATE INDEX security_events_by_charger ON security_events (charger_id, id);
CREATE INDEX security_events_by_type ON security_events (event_type, id);
CREATE INDEX security_events_by_time ON security_events (at);
