-- Several EPS nodes on one database (issue 9 §5, §6).

-- The built-in issuer's signing key, as the first node to start recorded it (its RFC 7638
-- SHA-256 thumbprint): a token from any node must verify on every node, so a node holding
-- another key refuses to start.
CREATE TABLE issuer_key (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    fingerprint TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

-- Wake-ups for the other nodes, delivered when the writing transaction commits (a hint only:
-- a listener that reconnects may have missed some, which the tailer's poll covers). Each payload
-- starts with the schema, so that a store in another schema of the same database ignores it.

-- New events: once per inserting statement, however many rows it wrote.
CREATE FUNCTION eps_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('eps_events', TG_TABLE_SCHEMA);
    RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION eps_notify_events();

-- A connection deleted (disconnected, force-disconnected or purged): its id, so that the event
-- streams of that connection end on every node.
CREATE FUNCTION eps_notify_connection_closed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('eps_connections', TG_TABLE_SCHEMA || ' ' || OLD.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER connections_notify AFTER DELETE ON connections
    FOR EACH ROW EXECUTE FUNCTION eps_notify_connection_closed();
