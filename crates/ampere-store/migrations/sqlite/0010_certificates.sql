-- Charger certificates Ampere issued (SignCertificate → CertificateSigned), what chargers
-- report as installed (GetInstalledCertificateIds), and credentials pending beside the
-- current ones (password rotation, security-profile upgrade).

CREATE TABLE charger_certificates (
    serial               TEXT PRIMARY KEY NOT NULL,
    charger_id           TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    certificate_use      TEXT NOT NULL,
    not_before           TEXT NOT NULL,
    not_after            TEXT NOT NULL,
    issued_at            TEXT NOT NULL,
    certificate_pem      TEXT NOT NULL,
    delivery             TEXT NOT NULL,
    renewal_requested_at TEXT
);
CREATE INDEX charger_certificates_by_charger ON charger_certificates (charger_id, issued_at);
CREATE INDEX charger_certificates_by_expiry ON charger_certificates (not_after);

CREATE TABLE installed_certificates (
    charger_id       TEXT NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    certificate_type TEXT NOT NULL,
    hash_algorithm   TEXT NOT NULL,
    issuer_name_hash TEXT NOT NULL,
    issuer_key_hash  TEXT NOT NULL,
    serial_number    TEXT NOT NULL,
    reported_at      TEXT NOT NULL,
    PRIMARY KEY (charger_id, certificate_type, hash_algorithm, issuer_name_hash,
                 issuer_key_hash, serial_number)
);

CREATE TABLE charger_credentials (
    charger_id                  TEXT PRIMARY KEY NOT NULL REFERENCES chargers (id) ON DELETE CASCADE,
    pending_password_hash       TEXT,
    pending_password_confirmed  INTEGER NOT NULL DEFAULT 0,
    pending_password_at         TEXT,
    pending_security_profile    INTEGER,
    pending_security_profile_at TEXT
);
