-- The EPS schema (PostgreSQL). Keep in step with ../sqlite/0001_schema.sql: one logical schema.
-- Times are Unix milliseconds; nested values are JSON text; ids are text.

CREATE TABLE clients (
    client_id   TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE connections (
    id                           TEXT COLLATE "C" PRIMARY KEY,
    client_id                    TEXT NOT NULL,
    merchant_id                  TEXT NOT NULL,
    transmission_id              BIGINT NOT NULL,
    client_timestamp             TEXT NOT NULL,
    vendor                       TEXT,
    application_name             TEXT,
    application_software_version TEXT,
    site_system_ids              TEXT NOT NULL,
    created_at                   BIGINT NOT NULL,
    last_heartbeat_at            BIGINT NOT NULL,
    expires_at                   BIGINT NOT NULL
);
CREATE INDEX connections_by_transmission ON connections (client_id, transmission_id, created_at);
CREATE INDEX connections_by_age ON connections (created_at, id);
CREATE INDEX connections_by_expiry ON connections (expires_at);

CREATE TABLE transactions (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    kind                TEXT NOT NULL,
    state               TEXT NOT NULL,
    merchant_id         TEXT NOT NULL,
    poi_id              TEXT NOT NULL,
    terminal_id         TEXT NOT NULL,
    client_id           TEXT NOT NULL,
    connection_id       TEXT,
    amount_minor        BIGINT NOT NULL,
    currency            TEXT NOT NULL,
    approved_minor      BIGINT,
    approved_currency   TEXT,
    original_id         TEXT COLLATE "C" REFERENCES transactions (id),
    terminal_request_id TEXT NOT NULL,
    reference           TEXT,
    authorisation       TEXT,
    result_code         TEXT,
    reason              TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    version             BIGINT NOT NULL
);
CREATE INDEX transactions_by_site ON transactions (merchant_id, created_at, id);
CREATE INDEX transactions_by_original ON transactions (original_id, created_at);
CREATE INDEX transactions_by_request ON transactions (terminal_id, terminal_request_id);
CREATE INDEX transactions_unresolved ON transactions (created_at, id)
    WHERE state IN ('pending', 'inProgress', 'unknown');

CREATE TABLE journal (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_id TEXT NOT NULL,
    at         BIGINT NOT NULL,
    step       TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX journal_by_subject ON journal (subject_id, at, seq);

CREATE TABLE reconciliations (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    merchant_id         TEXT NOT NULL,
    poi_id              TEXT NOT NULL,
    terminal_id         TEXT NOT NULL,
    client_id           TEXT NOT NULL,
    closure             BOOLEAN NOT NULL,
    state               TEXT NOT NULL,
    totals              TEXT NOT NULL,
    terminal_request_id TEXT NOT NULL,
    result_code         TEXT,
    reason              TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    version             BIGINT NOT NULL
);
CREATE INDEX reconciliations_unresolved ON reconciliations (created_at, id)
    WHERE state IN ('pending', 'inProgress');

CREATE TABLE receipts (
    id                TEXT COLLATE "C" PRIMARY KEY,
    merchant_id       TEXT NOT NULL,
    poi_id            TEXT NOT NULL,
    transaction_id    TEXT COLLATE "C" REFERENCES transactions (id),
    reconciliation_id TEXT COLLATE "C" REFERENCES reconciliations (id),
    receipt_copy      TEXT NOT NULL,
    device_target     TEXT NOT NULL,
    lines             TEXT NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX receipts_by_transaction ON receipts (transaction_id, created_at);
CREATE INDEX receipts_by_reconciliation ON receipts (reconciliation_id, created_at);

CREATE TABLE prompts (
    id             TEXT COLLATE "C" PRIMARY KEY,
    merchant_id    TEXT NOT NULL,
    poi_id         TEXT NOT NULL,
    transaction_id TEXT COLLATE "C" REFERENCES transactions (id),
    kind           TEXT NOT NULL,
    device_target  TEXT NOT NULL,
    lines          TEXT NOT NULL,
    input          TEXT,
    state          TEXT NOT NULL,
    answer         TEXT,
    answered_by    TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX prompts_open ON prompts (poi_id, created_at, id) WHERE state = 'open';

-- One key per (client, Idempotency-Key): the unique constraint decides which create wins.
CREATE TABLE idempotency_keys (
    client_id   TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resource    TEXT,
    outcome     TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (client_id, idem_key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

-- The event log. Ids are not generated by the table: they come from event_log.last_id, advanced
-- in the same transaction that writes the events, so they are assigned in commit order.
CREATE TABLE events (
    id          BIGINT PRIMARY KEY,
    merchant_id TEXT,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX events_by_site ON events (merchant_id, id);
CREATE INDEX events_by_time ON events (at);

-- The single row holding the event counter and the retention floor.
CREATE TABLE event_log (
    singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_id        BIGINT NOT NULL,
    purged_through BIGINT NOT NULL
);
INSERT INTO event_log (singleton, last_id, purged_through) VALUES (1, 0, 0);
