//! Live connections this node has read, kept in memory so a request does not read its
//! connection from the store again: the store stays the record.
//!
//! An entry is trusted only while it is live: one that looks expired is read again (a heartbeat
//! on another node may have moved the stored expiry). Disconnects here and elsewhere (the store's
//! close signal) remove entries; a lost signal is covered by clearing everything when the
//! listener reconnects ([`super::ConnectionService::close_vanished`]).

use std::collections::HashMap;
use std::sync::Mutex;

use time::OffsetDateTime;

use super::ConnectionRecord;
use crate::ids::ConnectionId;

/// At most this many entries; a full map starts over (entries are only a shortcut).
const CAPACITY: usize = 100_000;

/// Connection records by id, as last read or written here.
#[derive(Debug, Default)]
pub(crate) struct KnownConnections {
    records: Mutex<HashMap<ConnectionId, ConnectionRecord>>,
}

impl KnownConnections {
    /// The record of `id` if known and still live at `now`.
    pub(crate) fn live(&self, id: &ConnectionId, now: OffsetDateTime) -> Option<ConnectionRecord> {
        self.lock()
            .get(id)
            .filter(|record| record.expires_at > now)
            .cloned()
    }

    /// Remembers `record` (replacing an older version).
    pub(crate) fn remember(&self, record: &ConnectionRecord) {
        let mut records = self.lock();
        if records.len() >= CAPACITY && !records.contains_key(&record.id) {
            records.clear();
        }
        records.insert(record.id, record.clone());
    }

    /// Forgets `id`.
    pub(crate) fn forget(&self, id: &ConnectionId) {
        self.lock().remove(id);
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ConnectionId, ConnectionRecord>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}
