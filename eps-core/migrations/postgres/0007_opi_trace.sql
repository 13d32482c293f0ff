-- Issue 11 §1: the OPI trace of each transaction, the XML exchanged with its terminal (card
-- numbers masked, secret input answers replaced). Kept as long as the journal: today neither is
-- purged; a purge of the journal must purge these rows by the same rule.
-- Keep in step with the other engine's 0007.
CREATE TABLE opi_trace (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id TEXT NOT NULL,
    at             BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    direction      TEXT NOT NULL,
    channel        BIGINT NOT NULL,
    message        TEXT NOT NULL,
    request_type   TEXT NOT NULL,
    xml            TEXT NOT NULL
);
CREATE INDEX opi_trace_by_transaction ON opi_trace (transaction_id, id);
