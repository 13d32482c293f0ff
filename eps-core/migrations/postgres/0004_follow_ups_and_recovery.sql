-- Issue 8: what an original's settled refunds add up to, and since when a transaction's outcome
-- is unknown (recovery's proof that a terminal cannot still be working on it counts from there).
-- Keep in step with the other engine's 0004.
ALTER TABLE transactions ADD COLUMN refunded_minor BIGINT;
ALTER TABLE transactions ADD COLUMN unknown_since BIGINT;
