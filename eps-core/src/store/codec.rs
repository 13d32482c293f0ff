//! Row encoding shared by both engines: each record has a row struct of plain columns (BIGINT,
//! TEXT, BOOLEAN), built from the record with `encode` and turned back with `decode`.
//!
//! Times are Unix milliseconds; nested values are JSON text; enums are their API names. A stored
//! value that no longer parses is reported as [`Error::Storage`] naming its column, never a panic.

use std::fmt::Display;

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::client::{ClientRecord, ScopeSet, SiteGrant};
use crate::connection::ConnectionRecord;
use crate::error::{Error, Result};
use crate::event::{EventRecord, NewEvent};
use crate::idempotency::IdempotencyRecord;
use crate::ids::{ClientId, ConnectionId, EventId, IdempotencyKey, MerchantId, TransmissionId};
use crate::transaction::JournalEntry;

mod records;

pub(crate) use records::{PromptRow, ReceiptRow, ReconciliationRow, TransactionRow};

/// A time as Unix milliseconds (sub-millisecond precision is dropped).
pub(crate) fn millis(at: OffsetDateTime) -> Result<i64> {
    i64::try_from((at.unix_timestamp_nanos()).div_euclid(1_000_000))
        .map_err(|_| Error::Storage(format!("time {at} is out of the storable range")))
}

/// Unix milliseconds of a column as a UTC time.
pub(crate) fn instant(column: &str, ms: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|err| corrupt(column, err))
}

/// A value as JSON text.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}

/// JSON text of a column as a value.
pub(crate) fn from_json<T: DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|err| corrupt(column, err))
}

/// The result of parsing a column, with the column named on failure.
pub(crate) fn parsed<T, E: Display>(column: &str, parsed: Result<T, E>) -> Result<T> {
    parsed.map_err(|err| corrupt(column, err))
}

/// A stored enum name parsed by `parse`.
pub(crate) fn named<T>(column: &str, value: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(value).ok_or_else(|| corrupt(column, format!("unknown name {value:?}")))
}

/// An error for a column whose stored value does not decode.
pub(crate) fn corrupt(column: &str, err: impl Display) -> Error {
    Error::Storage(format!("stored {column} is invalid: {err}"))
}

/// A `connections` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ConnectionRow {
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) merchant_id: String,
    pub(crate) transmission_id: i64,
    pub(crate) client_timestamp: String,
    pub(crate) vendor: Option<String>,
    pub(crate) application_name: Option<String>,
    pub(crate) application_software_version: Option<String>,
    pub(crate) site_system_ids: String,
    pub(crate) created_at: i64,
    pub(crate) last_heartbeat_at: i64,
    pub(crate) expires_at: i64,
}

impl ConnectionRow {
    /// The row of a record.
    pub(crate) fn encode(record: &ConnectionRecord) -> Result<Self> {
        Ok(Self {
            id: record.id.to_string(),
            client_id: record.client_id.to_string(),
            merchant_id: record.merchant_id.to_string(),
            transmission_id: i64::from(record.transmission_id.value()),
            client_timestamp: record.client_timestamp.clone(),
            vendor: record.vendor.as_ref().map(to_json).transpose()?,
            application_name: record.application_name.clone(),
            application_software_version: record.application_software_version.clone(),
            site_system_ids: to_json(&record.site_system_ids)?,
            created_at: millis(record.created_at)?,
            last_heartbeat_at: millis(record.last_heartbeat_at)?,
            expires_at: millis(record.expires_at)?,
        })
    }

    /// The record of a row.
    pub(crate) fn decode(self) -> Result<ConnectionRecord> {
        Ok(ConnectionRecord {
            id: parsed("connections.id", ConnectionId::parse(&self.id))?,
            client_id: parsed("connections.client_id", ClientId::parse(&self.client_id))?,
            merchant_id: parsed(
                "connections.merchant_id",
                MerchantId::parse(&self.merchant_id),
            )?,
            transmission_id: parsed(
                "connections.transmission_id",
                u64::try_from(self.transmission_id)
                    .map_err(|err| err.to_string())
                    .and_then(|v| TransmissionId::new(v).map_err(|err| err.to_string())),
            )?,
            client_timestamp: self.client_timestamp,
            vendor: self
                .vendor
                .as_deref()
                .map(|v| from_json("connections.vendor", v))
                .transpose()?,
            application_name: self.application_name,
            application_software_version: self.application_software_version,
            site_system_ids: from_json("connections.site_system_ids", &self.site_system_ids)?,
            created_at: instant("connections.created_at", self.created_at)?,
            last_heartbeat_at: instant("connections.last_heartbeat_at", self.last_heartbeat_at)?,
            expires_at: instant("connections.expires_at", self.expires_at)?,
        })
    }
}

/// A `clients` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ClientRow {
    pub(crate) client_id: String,
    pub(crate) name: String,
    pub(crate) secret_hash: String,
    pub(crate) scopes: String,
    pub(crate) sites: String,
    pub(crate) created_at: i64,
}

impl ClientRow {
    /// The row of a record.
    pub(crate) fn encode(record: &ClientRecord) -> Result<Self> {
        Ok(Self {
            client_id: record.client_id.to_string(),
            name: record.name.clone(),
            secret_hash: record.secret_hash.clone(),
            scopes: record.scopes.to_string(),
            sites: to_json(&record.sites)?,
            created_at: millis(record.created_at)?,
        })
    }

    /// The record of a row.
    pub(crate) fn decode(self) -> Result<ClientRecord> {
        Ok(ClientRecord {
            client_id: parsed("clients.client_id", ClientId::parse(&self.client_id))?,
            name: self.name,
            secret_hash: self.secret_hash,
            scopes: parsed("clients.scopes", ScopeSet::parse(&self.scopes))?,
            sites: from_json::<SiteGrant>("clients.sites", &self.sites)?,
            created_at: instant("clients.created_at", self.created_at)?,
        })
    }
}

/// An `idempotency_keys` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct IdempotencyRow {
    pub(crate) client_id: String,
    pub(crate) idem_key: String,
    pub(crate) fingerprint: String,
    pub(crate) resource: Option<String>,
    pub(crate) outcome: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
}

impl IdempotencyRow {
    /// The row of a record.
    pub(crate) fn encode(record: &IdempotencyRecord) -> Result<Self> {
        Ok(Self {
            client_id: record.client_id.to_string(),
            idem_key: record.key.to_string(),
            fingerprint: record.fingerprint.clone(),
            resource: record.resource.clone(),
            outcome: record.outcome.clone(),
            created_at: millis(record.created_at)?,
            expires_at: millis(record.expires_at)?,
        })
    }

    /// The record of a row.
    pub(crate) fn decode(self) -> Result<IdempotencyRecord> {
        Ok(IdempotencyRecord {
            client_id: parsed(
                "idempotency_keys.client_id",
                ClientId::parse(&self.client_id),
            )?,
            key: parsed(
                "idempotency_keys.idem_key",
                IdempotencyKey::parse(&self.idem_key),
            )?,
            fingerprint: self.fingerprint,
            resource: self.resource,
            outcome: self.outcome,
            created_at: instant("idempotency_keys.created_at", self.created_at)?,
            expires_at: instant("idempotency_keys.expires_at", self.expires_at)?,
        })
    }
}

/// An `events` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub(crate) id: i64,
    pub(crate) merchant_id: Option<String>,
    pub(crate) at: i64,
    /// The event name, for people reading the table; `payload` is what decodes.
    pub(crate) kind: String,
    pub(crate) payload: String,
}

impl EventRow {
    /// The row of a new event given its assigned id.
    pub(crate) fn encode(id: EventId, event: &NewEvent) -> Result<Self> {
        Ok(Self {
            id: id.value(),
            merchant_id: event.merchant_id.as_ref().map(ToString::to_string),
            at: millis(event.at)?,
            kind: event.kind.name().to_owned(),
            payload: to_json(&event.kind)?,
        })
    }

    /// The record of a row.
    pub(crate) fn decode(self) -> Result<EventRecord> {
        Ok(EventRecord {
            id: EventId::new(self.id),
            merchant_id: self
                .merchant_id
                .as_deref()
                .map(|m| parsed("events.merchant_id", MerchantId::parse(m)))
                .transpose()?,
            at: instant("events.at", self.at)?,
            kind: from_json("events.payload", &self.payload)?,
        })
    }
}

/// A `journal` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct JournalRow {
    pub(crate) subject_id: String,
    pub(crate) at: i64,
    pub(crate) step: String,
    pub(crate) detail: String,
}

impl JournalRow {
    /// The row of an entry.
    pub(crate) fn encode(entry: &JournalEntry) -> Result<Self> {
        Ok(Self {
            subject_id: entry.subject_id.clone(),
            at: millis(entry.at)?,
            step: entry.step.clone(),
            detail: entry.detail.to_string(),
        })
    }

    /// The entry of a row.
    pub(crate) fn decode(self) -> Result<JournalEntry> {
        Ok(JournalEntry {
            subject_id: self.subject_id,
            at: instant("journal.at", self.at)?,
            step: self.step,
            detail: self.detail.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn times_round_trip_at_millisecond_precision() {
        let at = datetime!(2026-03-01 12:34:56.789 UTC);
        assert_eq!(instant("t", millis(at).unwrap()).unwrap(), at);
        let before_epoch = datetime!(1969-12-31 23:59:59.999 UTC);
        assert_eq!(millis(before_epoch).unwrap(), -1);
        assert_eq!(instant("t", -1).unwrap(), before_epoch);
        assert_eq!(
            millis(datetime!(2026-03-01 00:00:00.0019 UTC)).unwrap() % 1000,
            1
        );
    }

    #[test]
    fn corrupt_values_name_their_column() {
        let err = from_json::<Vec<String>>("receipts.lines", "not json").unwrap_err();
        assert!(err.to_string().contains("receipts.lines"), "{err}");
        let err = instant("events.at", i64::MAX).unwrap_err();
        assert!(err.to_string().contains("events.at"), "{err}");
    }
}
