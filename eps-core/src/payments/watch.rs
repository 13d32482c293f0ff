//! Waiting for a transaction to reach a state, for `Prefer: wait` and concurrent retries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::ids::TransactionId;
use crate::transaction::TransactionRecord;

/// The latest committed record of each transaction an operation on this node is driving.
#[derive(Clone, Default)]
pub(crate) struct TransactionWatch {
    senders: Arc<Mutex<HashMap<TransactionId, watch::Sender<TransactionRecord>>>>,
}

impl TransactionWatch {
    /// Publishes a committed record to its waiters.
    pub(crate) fn publish(&self, record: &TransactionRecord) {
        let mut senders = self.senders.lock().unwrap_or_else(|p| p.into_inner());
        match senders.get(&record.id) {
            Some(sender) => {
                sender.send_replace(record.clone());
            }
            None => {
                let (sender, _) = watch::channel(record.clone());
                senders.insert(record.id, sender);
            }
        }
    }

    /// Stops tracking a transaction whose operation has ended (waiters keep the last value).
    pub(crate) fn forget(&self, id: &TransactionId) {
        self.senders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// A receiver for a transaction an operation here is driving.
    pub(crate) fn subscribe(
        &self,
        id: &TransactionId,
    ) -> Option<watch::Receiver<TransactionRecord>> {
        self.senders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .map(watch::Sender::subscribe)
    }
}
