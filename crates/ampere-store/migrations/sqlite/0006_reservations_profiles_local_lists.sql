-- Reservations, charging profiles with where they are installed, and local authorization
-- lists per charger (what Ampere sent and what the charger answered).

-- `id` is the OCPP reservationId. `status` as stored: an active reservation whose
-- expires_at has passed is read as expired (see ampere_domain::reservation).
CREATE TABLE reservations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id     TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    evse_id        INTEGER,
    connector_id   INTEGER,
    connector_type TEXT,
    id_token       TEXT NOT NULL,
    id_token_type  TEXT NOT NULL,
    group_id_token TEXT,
    expires_at     TEXT NOT NULL,
    status         TEXT NOT NULL,
    charger_status TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX reservations_by_charger ON reservations (charger_id, id);

-- `id` is the OCPP chargingProfileId; `spec` the version-neutral profile as JSON.
CREATE TABLE charging_profiles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    description TEXT NOT NULL,
    spec        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE charging_profile_installations (
    profile_id     INTEGER NOT NULL REFERENCES charging_profiles (id) ON DELETE CASCADE,
    charger_id     TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    evse_id        INTEGER NOT NULL,
    status         TEXT NOT NULL,
    charger_status TEXT,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (profile_id, charger_id)
);
CREATE INDEX charging_profile_installations_by_charger
    ON charging_profile_installations (charger_id, profile_id);

-- One row per charger that was ever sent a list: the accepted version and the last sync.
CREATE TABLE local_lists (
    charger_id         TEXT PRIMARY KEY NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    version            INTEGER NOT NULL,
    sync_at            TEXT,
    sync_type          TEXT,
    sync_version       INTEGER,
    sync_result        TEXT,
    charger_version    INTEGER,
    charger_version_at TEXT
);

-- The entries of the accepted version.
CREATE TABLE local_list_entries (
    charger_id    TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    id_token      TEXT NOT NULL,
    id_token_type TEXT NOT NULL,
    status        TEXT NOT NULL,
    expiry_date   TEXT,
    group_id      TEXT,
    PRIMARY KEY (charger_id, id_token)
);
