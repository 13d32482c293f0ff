-- The built-in issuer's signing key, as the first start recorded it (its RFC 7638 SHA-256
-- thumbprint): a start with another key is refused. Keep in step with ../postgres/0009_nodes.sql
-- (which also adds the LISTEN/NOTIFY wake-ups several nodes need; SQLite serves one node).
CREATE TABLE issuer_key (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    fingerprint TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
