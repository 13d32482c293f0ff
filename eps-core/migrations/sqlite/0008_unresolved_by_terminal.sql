-- Issue 10 P5: the unresolved transaction of a terminal (read by every payment before it claims
-- the terminal) through transactions_by_request read every transaction the terminal ever had and
-- filtered them by state; this index holds only the unresolved ones, in the order the read asks.
-- Keep in step with the other engine's 0008.
CREATE INDEX transactions_unresolved_by_terminal ON transactions (terminal_id, created_at, id)
    WHERE state IN ('pending', 'inProgress', 'unknown');
