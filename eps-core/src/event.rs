//! Events: what site systems learn without polling, kept in a durable, ordered log.
//!
//! A state change and its events are written in one store transaction; event ids come from a
//! counter advanced under that transaction, so ids are in commit order and a reader never sees
//! id 12 before 11. [`EventLog`] tails the store into an in-process broadcast that feeds SSE and
//! WebSocket subscribers; a subscriber that falls behind the bounded broadcast is told so and can
//! resume from the store with its last event id.
//!
//! A subscriber reads through a [`Feed`]: the events after its last id from the log, then the
//! live broadcast, with no gap and no duplicate, and an explicit [`FeedItem::Lost`] when
//! retention already purged events it had not seen.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::{Notify, broadcast};

use crate::error::Result;
use crate::ids::{
    EventId, MerchantId, PoiId, PromptId, ReceiptId, ReconciliationId, TransactionId,
};
use crate::prompt::PromptKind;
use crate::receipt::ReceiptCopy;
use crate::reconciliation::ReconciliationState;
use crate::site::SiteDirectory;
use crate::store::Store;
use crate::terminal::TerminalStatus;
use crate::transaction::{TransactionKind, TransactionState};

mod feed;

pub use feed::{Feed, FeedItem};

/// What happened. Names follow the Open Retailing event list where it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum EventKind {
    /// A card was presented before an amount was known (`cardAcquisitionEvent`).
    CardAcquisition {
        /// The POI.
        poi_id: PoiId,
        /// The transaction running, if any.
        transaction_id: Option<TransactionId>,
    },
    /// A POI was added to the site (`newPOIEvent`).
    NewPoi {
        /// The POI.
        poi_id: PoiId,
    },
    /// A POI's terminal changed health (`poiStatusEvent`, ours).
    PoiStatus {
        /// The POI.
        poi_id: PoiId,
        /// The new status.
        status: TerminalStatus,
    },
    /// A prompt awaits display or an answer (`promptAvailableEvent`).
    PromptAvailable {
        /// The prompt.
        prompt_id: PromptId,
        /// The POI.
        poi_id: PoiId,
        /// The transaction running, if any.
        transaction_id: Option<TransactionId>,
        /// Display or input.
        prompt_kind: PromptKind,
    },
    /// A receipt can be fetched (`receiptAvailableEvent`).
    ReceiptAvailable {
        /// The receipt.
        receipt_id: ReceiptId,
        /// The POI.
        poi_id: PoiId,
        /// Its transaction, if any.
        transaction_id: Option<TransactionId>,
        /// Its reconciliation, if any.
        reconciliation_id: Option<ReconciliationId>,
        /// Which copy.
        copy: ReceiptCopy,
    },
    /// A reconciliation ended (`reconciliationCompletionEvent`).
    ReconciliationCompletion {
        /// The reconciliation.
        reconciliation_id: ReconciliationId,
        /// The POI.
        poi_id: PoiId,
        /// How it ended.
        state: ReconciliationState,
    },
    /// A transaction changed state (`transactionUpdatedEvent`, ours).
    TransactionUpdated {
        /// The transaction.
        transaction_id: TransactionId,
        /// The POI.
        poi_id: PoiId,
        /// Its kind.
        transaction_kind: TransactionKind,
        /// Its new state.
        state: TransactionState,
    },
}

impl EventKind {
    /// The event name on the wire (`event:` line and `event` field).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::CardAcquisition { .. } => "cardAcquisitionEvent",
            Self::NewPoi { .. } => "newPOIEvent",
            Self::PoiStatus { .. } => "poiStatusEvent",
            Self::PromptAvailable { .. } => "promptAvailableEvent",
            Self::ReceiptAvailable { .. } => "receiptAvailableEvent",
            Self::ReconciliationCompletion { .. } => "reconciliationCompletionEvent",
            Self::TransactionUpdated { .. } => "transactionUpdatedEvent",
        }
    }
}

/// An event to be appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// The site that may see it; `None` for operators only.
    pub merchant_id: Option<MerchantId>,
    /// When it happened.
    pub at: OffsetDateTime,
    /// What happened.
    pub kind: EventKind,
}

/// An event in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Its position.
    pub id: EventId,
    /// The site that may see it; `None` for operators only.
    pub merchant_id: Option<MerchantId>,
    /// When it happened.
    pub at: OffsetDateTime,
    /// What happened.
    pub kind: EventKind,
}

/// Events read back from the log for a resuming subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The events after the subscriber's last id, oldest first.
    pub events: Vec<EventRecord>,
    /// True when events after the subscriber's last id were already purged by retention.
    pub gap: bool,
}

/// The durable event log and its in-process fan-out.
#[derive(Clone)]
pub struct EventLog {
    store: Arc<dyn Store>,
    sender: broadcast::Sender<Arc<EventRecord>>,
    wake: Arc<Notify>,
    capacity: usize,
}

impl EventLog {
    /// A log over `store` whose broadcast keeps at most `capacity` events per subscriber.
    pub fn new(store: Arc<dyn Store>, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (sender, _) = broadcast::channel(capacity);
        Self {
            store,
            sender,
            wake: Arc::new(Notify::new()),
            capacity,
        }
    }

    /// Appends events on their own (not tied to another state change) and wakes the tailer.
    pub async fn append(&self, events: &[NewEvent]) -> Result<Vec<EventRecord>> {
        let records = self.store.append_events(events).await?;
        self.committed();
        Ok(records)
    }

    /// Tells the tailer that a store write with events has committed.
    pub fn committed(&self) {
        self.wake.notify_one();
    }

    /// A live feed of events committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventRecord>> {
        self.sender.subscribe()
    }

    /// The events after `after` visible to `merchant` (all when `None`), at most `limit`.
    pub async fn replay(
        &self,
        merchant: Option<&MerchantId>,
        after: EventId,
        limit: u32,
    ) -> Result<Replay> {
        let floor = self.store.purged_through().await?;
        let gap = after < floor;
        let events = self
            .store
            .events_after(merchant, after.max(floor), limit)
            .await?;
        Ok(Replay { events, gap })
    }

    /// The newest committed event id.
    pub async fn head(&self) -> Result<EventId> {
        self.store.latest_event_id().await
    }

    /// A subscriber's feed of the events after `after` visible to `scope` (every event when
    /// `None`): the log first, then live. It subscribes to the broadcast at once.
    pub fn feed(&self, scope: Option<MerchantId>, after: EventId) -> Feed {
        Feed::new(self.clone(), scope, after)
    }

    /// How many live events a subscriber may fall behind before its feed reports a lag.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Deletes events older than `before` (retention); returns how many.
    pub async fn purge(&self, before: OffsetDateTime) -> Result<u64> {
        self.store.purge_events(before).await
    }

    /// Announces the POIs of `sites` that the previous start did not have (`newPOIEvent`).
    pub async fn announce_new_pois(
        &self,
        sites: &SiteDirectory,
        at: OffsetDateTime,
    ) -> Result<Vec<EventRecord>> {
        let pois: Vec<_> = sites
            .sites()
            .iter()
            .flat_map(|site| site.pois.iter())
            .map(|poi| (poi.merchant_id.clone(), poi.poi_id))
            .collect();
        let records = self.store.sync_known_pois(&pois, at).await?;
        if !records.is_empty() {
            self.committed();
        }
        Ok(records)
    }

    /// Forwards committed events to subscribers in id order until `stop` resolves.
    ///
    /// Woken by [`EventLog::committed`] (this node's writes, and other nodes' through
    /// [`crate::peers`]); also polls every `poll`, the floor when a wake-up is lost.
    pub async fn run_tailer(
        &self,
        poll: std::time::Duration,
        stop: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        let mut last = match self.store.latest_event_id().await {
            Ok(id) => id,
            Err(err) => {
                tracing::error!(%err, "event tailer cannot read the log head");
                EventId::ZERO
            }
        };
        loop {
            tokio::select! {
                () = &mut stop => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
            loop {
                match self.store.events_after(None, last, 1000).await {
                    Ok(batch) if batch.is_empty() => break,
                    Ok(batch) => {
                        for event in batch {
                            last = event.id;
                            // No receivers is fine: nobody is listening right now.
                            let _ = self.sender.send(Arc::new(event));
                        }
                    }
                    Err(err) => {
                        tracing::error!(%err, "event tailer cannot read the log");
                        break;
                    }
                }
            }
        }
    }
}
