-- API tokens (stored as the SHA-256 of the secret, never the secret) and the audit log of
-- what was done through the API.

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Not tied to chargers or tokens by foreign keys: the log outlives what it talks about.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    token_id   INTEGER,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    charger_id TEXT,
    request    TEXT NOT NULL,
    outcome    TEXT NOT NULL
);
