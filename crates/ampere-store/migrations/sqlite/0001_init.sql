-- Ampere store, SQLite. Timestamps are TEXT in one fixed-width UTC format
-- (YYYY-MM-DDTHH:MM:SS.ffffffZ), so text order is time order; energy values are
-- exact decimal TEXT (Wh); flags are INTEGER 0/1.

CREATE TABLE chargers (
    id                   TEXT PRIMARY KEY NOT NULL,
    registration_status  TEXT NOT NULL,
    password_hash        TEXT,
    security_profile     INTEGER NOT NULL,
    protocol             TEXT,
    vendor               TEXT,
    model                TEXT,
    serial_number        TEXT,
    firmware_version     TEXT,
    iccid                TEXT,
    imsi                 TEXT,
    meter_type           TEXT,
    meter_serial_number  TEXT,
    last_boot_at         TEXT,
    last_seen            TEXT,
    heartbeat_interval_s INTEGER,
    created_at           TEXT NOT NULL
);

CREATE TABLE connector_status (
    charger_id        TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    evse_id           INTEGER NOT NULL,
    connector_id      INTEGER NOT NULL,
    status            TEXT NOT NULL,
    error_code        TEXT,
    info              TEXT,
    vendor_id         TEXT,
    vendor_error_code TEXT,
    status_at         TEXT NOT NULL,
    PRIMARY KEY (charger_id, evse_id, connector_id)
);

CREATE TABLE status_history (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id        TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    evse_id           INTEGER NOT NULL,
    connector_id      INTEGER NOT NULL,
    status            TEXT NOT NULL,
    error_code        TEXT,
    info              TEXT,
    vendor_id         TEXT,
    vendor_error_code TEXT,
    status_at         TEXT NOT NULL,
    received_at       TEXT NOT NULL
);
-- A retried StatusNotification is the same report: stored once.
CREATE UNIQUE INDEX status_history_report
    ON status_history (charger_id, evse_id, connector_id, status_at, status);

CREATE TABLE id_tokens (
    token_key   TEXT PRIMARY KEY NOT NULL,
    value       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    expiry_date TEXT,
    group_id    TEXT
);

CREATE TABLE transactions (
    tx_serial            INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id           TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    -- NULL only inside the unit of work that numbers a CSMS-assigned transaction.
    transaction_id       TEXT,
    evse_id              INTEGER,
    connector_id         INTEGER,
    id_token             TEXT,
    id_token_kind        TEXT,
    id_token_key         TEXT,
    started_at           TEXT NOT NULL,
    stopped_at           TEXT,
    meter_start_wh       TEXT,
    meter_start_at       TEXT,
    meter_stop_wh        TEXT,
    energy_wh            TEXT,
    last_meter_wh        TEXT,
    last_meter_at        TEXT,
    stop_reason          TEXT,
    status               TEXT NOT NULL,
    last_seq_no          INTEGER,
    offline              INTEGER NOT NULL,
    last_trigger_reason  TEXT,
    charging_state       TEXT,
    remote_start_id      INTEGER,
    reservation_id       INTEGER,
    meter_went_backwards INTEGER NOT NULL,
    closed_by_reboot     INTEGER NOT NULL,
    unknown_start        INTEGER NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE UNIQUE INDEX transactions_identity ON transactions (charger_id, transaction_id);
CREATE INDEX transactions_start ON transactions (charger_id, evse_id, connector_id, started_at);
CREATE INDEX transactions_status ON transactions (charger_id, status);
CREATE INDEX transactions_token ON transactions (id_token_key);

CREATE TABLE transaction_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tx_serial      INTEGER NOT NULL REFERENCES transactions (tx_serial) ON DELETE CASCADE,
    charger_id     TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    seq_no         INTEGER,
    kind           TEXT NOT NULL,
    event_at       TEXT NOT NULL,
    trigger_reason TEXT,
    stop_reason    TEXT,
    offline        INTEGER NOT NULL,
    received_at    TEXT NOT NULL
);
-- The deduplication key of transaction events (NULL seq_no, as 1.6 has, never collides).
CREATE UNIQUE INDEX transaction_events_seq ON transaction_events (charger_id, transaction_id, seq_no);
CREATE INDEX transaction_events_tx ON transaction_events (tx_serial);

-- One row per sampled value: lean to insert in one statement per message, and queryable
-- by measurand later.
CREATE TABLE meter_values (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id        TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    evse_id           INTEGER,
    connector_id      INTEGER,
    tx_serial         INTEGER REFERENCES transactions (tx_serial) ON DELETE CASCADE,
    transaction_id    TEXT,
    sampled_at        TEXT NOT NULL,
    value             TEXT NOT NULL,
    measurand         TEXT,
    phase             TEXT,
    unit              TEXT,
    unit_multiplier   INTEGER,
    context           TEXT,
    location          TEXT,
    format            TEXT,
    signed_meter_data TEXT,
    signing_method    TEXT,
    encoding_method   TEXT,
    public_key        TEXT,
    received_at       TEXT NOT NULL
);
CREATE INDEX meter_values_tx ON meter_values (tx_serial);
CREATE INDEX meter_values_charger ON meter_values (charger_id, id);

CREATE TABLE charger_reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id  TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX charger_reports_charger ON charger_reports (charger_id, kind, id);

CREATE TABLE connection_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id    TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    occurred_at   TEXT NOT NULL,
    remote_addr   TEXT,
    protocol      TEXT,
    connection_id INTEGER,
    reason        TEXT
);
CREATE INDEX connection_events_charger ON connection_events (charger_id, id);
