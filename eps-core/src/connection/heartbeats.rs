//! Heartbeats kept in memory and written behind: a heartbeat moves a connection's expiry in
//! memory at once and reaches the store with the next flush (one transaction for every
//! connection that beat since the last one), so heartbeats cost no synced commit each.
//!
//! What a crash can lose is the heartbeats since the last flush (about a second): that only moves
//! an expiry earlier, and [`ConnectionService::grant_start_up_grace`] gives every connection that
//! was live at start-up a full timeout from then. Connect and disconnect stay synced commits.
//!
//! [`ConnectionService::grant_start_up_grace`]: super::ConnectionService::grant_start_up_grace

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

use crate::ids::ConnectionId;

/// One heartbeat not yet written: when it arrived and the expiry it grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Beat {
    /// The connection.
    pub id: ConnectionId,
    /// When the heartbeat arrived.
    pub at: OffsetDateTime,
    /// The expiry it grants.
    pub expires_at: OffsetDateTime,
}

/// Heartbeats received since the last flush, the latest per connection.
#[derive(Debug, Default)]
pub struct PendingBeats {
    beats: Mutex<HashMap<ConnectionId, Beat>>,
}

impl PendingBeats {
    /// Records `beat` (a later one replaces an earlier one).
    pub fn record(&self, beat: Beat) {
        let mut beats = self.lock();
        let newer = beats.get(&beat.id).is_none_or(|b| b.at <= beat.at);
        if newer {
            beats.insert(beat.id, beat);
        }
    }

    /// The unwritten heartbeat of `id`, if any.
    pub fn latest(&self, id: &ConnectionId) -> Option<Beat> {
        self.lock().get(id).copied()
    }

    /// Forgets `id` (it was closed).
    pub fn forget(&self, id: &ConnectionId) {
        self.lock().remove(id);
    }

    /// Every unwritten heartbeat, to write; each stays in force until [`Self::settle`] says it
    /// is in the store, so a read during the write never sees the older stored expiry.
    pub fn pending(&self) -> Vec<Beat> {
        self.lock().values().copied().collect()
    }

    /// Forgets heartbeats now in the store, unless a later one arrived meanwhile.
    pub fn settle(&self, written: &[Beat]) {
        let mut beats = self.lock();
        for beat in written {
            if beats.get(&beat.id) == Some(beat) {
                beats.remove(&beat.id);
            }
        }
    }

    /// How many connections have an unwritten heartbeat.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when every heartbeat is written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ConnectionId, Beat>> {
        self.beats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_beat_stays_in_force_until_written_and_a_later_one_outlives_the_write() {
        let pending = PendingBeats::default();
        let id = ConnectionId::generate();
        let at = datetime!(2026-01-05 09:00 UTC);
        let first = Beat {
            id,
            at,
            expires_at: at + time::Duration::seconds(90),
        };
        pending.record(first);
        let written = pending.pending();
        // While the write runs, the beat is still what reads see.
        assert_eq!(pending.latest(&id), Some(first));
        let later = Beat {
            at: at + time::Duration::seconds(1),
            expires_at: at + time::Duration::seconds(91),
            ..first
        };
        pending.record(later);
        pending.settle(&written);
        assert_eq!(pending.latest(&id), Some(later));
        pending.settle(&[later]);
        assert!(pending.is_empty());
    }
}
