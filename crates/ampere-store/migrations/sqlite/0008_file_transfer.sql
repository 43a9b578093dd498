-- Charger file transfer: firmware images operators upload (the bytes are on disk under the
-- data directory, named by their random id), the firmware updates and log requests sent
-- to chargers, and every status notification chargers send about them.

CREATE TABLE firmware_files (
    serial      INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Random and unguessable: it is the capability in the download URL chargers get.
    id          TEXT NOT NULL UNIQUE,
    filename    TEXT NOT NULL,
    size_bytes  INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    uploaded_by TEXT
);

-- The id is the requestId sent to the charger. firmware_id has no foreign key: an
-- update's history outlives the file it installed.
CREATE TABLE firmware_updates (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id          TEXT NOT NULL REFERENCES chargers(id) ON DELETE CASCADE,
    firmware_id         TEXT,
    location            TEXT NOT NULL,
    signed              INTEGER NOT NULL,
    retrieve_date       TEXT NOT NULL,
    install_date        TEXT,
    retries             INTEGER,
    retry_interval      INTEGER,
    signing_certificate TEXT,
    signature           TEXT,
    requested_by        TEXT,
    status              TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX firmware_updates_by_charger ON firmware_updates (charger_id, id);

-- GetDiagnostics / GetLog requests; the id is the requestId. The upload token is stored
-- as its SHA-256 only.
CREATE TABLE log_requests (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id       TEXT NOT NULL REFERENCES chargers(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    start_time       TEXT,
    stop_time        TEXT,
    retries          INTEGER,
    retry_interval   INTEGER,
    requested_by     TEXT,
    token_hash       TEXT NOT NULL UNIQUE,
    upload_expires_at TEXT NOT NULL,
    status           TEXT NOT NULL,
    charger_filename TEXT,
    file_name        TEXT,
    file_size        INTEGER,
    file_sha256      TEXT,
    file_stored_as   TEXT,
    uploaded_at      TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX log_requests_by_charger ON log_requests (charger_id, id);

-- Every status of every transfer: kind 'firmware' or 'log'; transfer_id is NULL when a
-- notification matched no request (kept all the same).
CREATE TABLE file_transfer_status (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id  TEXT NOT NULL REFERENCES chargers(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    transfer_id INTEGER,
    request_id  INTEGER,
    status      TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX file_transfer_status_by_transfer ON file_transfer_status (kind, transfer_id, id);
