-- Issue 11: the audit log of operator actions and client changes, and indexes for operators'
-- listings across sites (by age, and the queue of unknown outcomes oldest first).
-- Keep in step with the other engine's 0005.
CREATE TABLE audit_log (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    reason  TEXT,
    outcome TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_log_by_target ON audit_log (target, seq);
CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);

CREATE INDEX transactions_by_age ON transactions (created_at, id);
CREATE INDEX transactions_by_state ON transactions (state, created_at, id);
