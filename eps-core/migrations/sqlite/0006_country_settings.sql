-- Country settings (`/countrySettings`), one row per site: its volume unit, country, language
-- and local currencies (comma-separated ISO 4217 codes, the main one first).
CREATE TABLE country_settings (
    merchant_id      TEXT PRIMARY KEY,
    volume_unit      TEXT NOT NULL,
    country_code     TEXT NOT NULL,
    language         TEXT NOT NULL,
    local_currencies TEXT NOT NULL,
    updated_at       BIGINT NOT NULL
);
