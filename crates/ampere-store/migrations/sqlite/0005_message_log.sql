-- The OCPP message log: every frame both ways, per charger, purged after the retention
-- period. Not tied to chargers by a foreign key: it is written in the background and must
-- never fail because a charger was deleted meanwhile.

CREATE TABLE message_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id   TEXT NOT NULL,
    at           TEXT NOT NULL,
    direction    TEXT NOT NULL,
    message_type TEXT NOT NULL,
    action       TEXT,
    message_id   TEXT,
    frame        TEXT NOT NULL
);
-- Newest first per charger (the API's listing), and by time for the purge.
CREATE INDEX message_log_by_charger ON message_log (charger_id, id);
CREATE INDEX message_log_by_time ON message_log (at);
