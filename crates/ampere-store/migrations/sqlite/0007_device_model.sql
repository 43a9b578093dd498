-- Device models: the variables each charger reported (NotifyReport), one row per component
-- variable with its attributes and characteristics as JSON; the report parts still waiting
-- for the rest of their report; and the reports asked for, with their scope.

CREATE TABLE device_models (
    charger_id        TEXT PRIMARY KEY NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    last_request_id   INTEGER NOT NULL,
    generated_at      TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

-- `variable_key` identifies component and variable (name, instance, EVSE, connector) in one
-- text, because NULL instances would not be equal in a composite key.
CREATE TABLE device_model_variables (
    charger_id    TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    variable_key  TEXT NOT NULL,
    position      INTEGER NOT NULL,
    data          TEXT NOT NULL,
    PRIMARY KEY (charger_id, variable_key)
);
CREATE INDEX device_model_variables_order ON device_model_variables (charger_id, position);

CREATE TABLE device_model_report_parts (
    charger_id    TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    request_id    INTEGER NOT NULL,
    seq_no        INTEGER NOT NULL,
    received_at   TEXT NOT NULL,
    part          TEXT NOT NULL,
    PRIMARY KEY (charger_id, request_id, seq_no)
);

CREATE TABLE device_model_report_requests (
    charger_id    TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    request_id    INTEGER NOT NULL,
    scope         TEXT NOT NULL,
    requested_at  TEXT NOT NULL,
    PRIMARY KEY (charger_id, request_id)
);
