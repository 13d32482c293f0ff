-- POIs the configuration had at the last start: a configured POI missing here is announced with a
-- newPOIEvent. The flag on event_log tells the very first start (record silently) from a start
-- whose previous configuration had no POIs (announce them).
CREATE TABLE known_pois (
    poi_id      TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    first_seen  BIGINT NOT NULL
);
ALTER TABLE event_log ADD COLUMN pois_recorded BIGINT NOT NULL DEFAULT 0;
