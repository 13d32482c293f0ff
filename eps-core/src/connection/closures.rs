//! Closing signals: the live event streams of a connection learn at once that it was closed.
//!
//! A close on this node signals at once; one on another node sharing the database arrives as a
//! store signal (see [`crate::peers`]); should that be lost, a stream still notices at its next
//! connection check (the event channels re-check at every heartbeat).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::ids::ConnectionId;

/// A closing signal per connection that some stream is watching.
#[derive(Debug, Default)]
pub struct Closures {
    watched: Mutex<HashMap<ConnectionId, watch::Sender<bool>>>,
}

/// One stream's watch on its connection; dropping it stops watching.
#[derive(Debug)]
pub struct ClosureWatch {
    id: ConnectionId,
    closures: Arc<Closures>,
    receiver: watch::Receiver<bool>,
}

impl Closures {
    /// Starts watching `id`.
    pub fn watch(self: &Arc<Self>, id: ConnectionId) -> ClosureWatch {
        let receiver = self
            .lock()
            .entry(id)
            .or_insert_with(|| watch::channel(false).0)
            .subscribe();
        ClosureWatch {
            id,
            closures: self.clone(),
            receiver,
        }
    }

    /// Signals every watch of `id` that the connection is closed.
    pub fn close(&self, id: &ConnectionId) {
        if let Some(sender) = self.lock().remove(id) {
            sender.send_replace(true);
        }
    }

    /// The connections watched now.
    pub fn ids(&self) -> Vec<ConnectionId> {
        self.lock().keys().copied().collect()
    }

    /// How many connections are watched.
    pub fn watched(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ConnectionId, watch::Sender<bool>>> {
        self.watched.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClosureWatch {
    /// Resolves once the connection is closed.
    pub async fn closed(&mut self) {
        // An error means the sender is gone, which only `close` does.
        let _ = self.receiver.wait_for(|closed| *closed).await;
    }
}

impl Drop for ClosureWatch {
    fn drop(&mut self) {
        let mut watched = self.closures.lock();
        // This watch's own receiver is still alive here: one left means it was the last.
        if watched
            .get(&self.id)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            watched.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn close_wakes_every_watch_of_that_connection_only() {
        let closures = Arc::new(Closures::default());
        let (a, b) = (ConnectionId::generate(), ConnectionId::generate());
        let mut first = closures.watch(a);
        let mut second = closures.watch(a);
        let mut other = closures.watch(b);
        assert_eq!(closures.watched(), 2);
        closures.close(&a);
        first.closed().await;
        second.closed().await;
        assert!(
            tokio::time::timeout(std::time::Duration::ZERO, other.closed())
                .await
                .is_err(),
            "another connection's watch stays open"
        );
        assert_eq!(closures.watched(), 1);
        // A watch started after the close waits for the next close.
        let mut later = closures.watch(a);
        closures.close(&a);
        later.closed().await;
    }

    #[test]
    fn dropping_the_last_watch_forgets_the_connection() {
        let closures = Arc::new(Closures::default());
        let id = ConnectionId::generate();
        let first = closures.watch(id);
        let second = closures.watch(id);
        drop(first);
        assert_eq!(closures.watched(), 1);
        drop(second);
        assert_eq!(closures.watched(), 0);
        closures.close(&id);
    }
}
