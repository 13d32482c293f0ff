//! One subscriber's feed: the events it missed, read from the log, then the live broadcast, with
//! no gap and no duplicate.
//!
//! The feed subscribes to the broadcast before it reads the log, so every event is either in the
//! log when it is read or arrives live afterwards; live events at or below the last id looked at
//! are dropped as duplicates. A lag while the feed is still catching up only means the replay was
//! long: it subscribes afresh and reads the rest from the log. A lag once live means the
//! subscriber is too slow: the feed reports it and the subscriber resumes later from its last id.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError};

use super::{EventLog, EventRecord};
use crate::error::Result;
use crate::ids::{EventId, MerchantId};

/// Events read from the log per query while catching up.
const REPLAY_PAGE: u32 = 500;

/// What a feed yields next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedItem {
    /// An event for the subscriber, in id order.
    Event(Arc<EventRecord>),
    /// Events after `after` up to and including `through` were purged by retention before the
    /// subscriber saw them; the feed continues after `through`.
    Lost {
        /// The subscriber's last id.
        after: EventId,
        /// The last purged id.
        through: EventId,
    },
    /// The subscriber fell more than the broadcast's capacity behind: end its stream; it
    /// resumes from its last id. The feed must not be read again.
    Lagged,
}

/// Where the feed reads from.
enum Phase {
    /// From the log; `page` holds events read but not yet handed out, `last` says it was the
    /// last page.
    Replay {
        page: VecDeque<EventRecord>,
        last: bool,
    },
    /// From the broadcast; `fresh` until the first live receive, while a lag still only means
    /// that the replay outlasted the broadcast's buffer.
    Live { fresh: bool },
}

impl Phase {
    fn replay() -> Self {
        Self::Replay {
            page: VecDeque::new(),
            last: false,
        }
    }
}

/// A subscriber's ordered view of the log: see the module documentation.
pub struct Feed {
    log: EventLog,
    scope: Option<MerchantId>,
    live: broadcast::Receiver<Arc<EventRecord>>,
    /// The highest id looked at (handed out, or skipped as another site's).
    position: EventId,
    phase: Phase,
}

impl Feed {
    pub(super) fn new(log: EventLog, scope: Option<MerchantId>, after: EventId) -> Self {
        let live = log.subscribe();
        Self {
            log,
            scope,
            live,
            position: after,
            phase: Phase::replay(),
        }
    }

    /// The highest event id this feed has looked at.
    pub fn position(&self) -> EventId {
        self.position
    }

    /// The next item. Cancel-safe: a call dropped while it waits loses nothing.
    pub async fn next(&mut self) -> Result<FeedItem> {
        loop {
            match &mut self.phase {
                Phase::Replay { page, last } => {
                    if let Some(event) = page.pop_front() {
                        self.position = event.id;
                        return Ok(FeedItem::Event(Arc::new(event)));
                    }
                    if *last {
                        self.phase = Phase::Live { fresh: true };
                        continue;
                    }
                    let floor = self.log.store.purged_through().await?;
                    if self.position < floor {
                        let after = std::mem::replace(&mut self.position, floor);
                        return Ok(FeedItem::Lost {
                            after,
                            through: floor,
                        });
                    }
                    let events = self
                        .log
                        .store
                        .events_after(self.scope.as_ref(), self.position, REPLAY_PAGE)
                        .await?;
                    // A short page holds everything committed when it was read; anything later
                    // arrives live, because the subscription is older than the read.
                    *last = events.len() < REPLAY_PAGE as usize;
                    page.extend(events);
                }
                Phase::Live { fresh } => match self.live.recv().await {
                    Ok(event) => {
                        *fresh = false;
                        if event.id <= self.position {
                            continue;
                        }
                        self.position = event.id;
                        if self.visible(&event) {
                            return Ok(FeedItem::Event(event));
                        }
                    }
                    Err(RecvError::Lagged(_)) if *fresh => {
                        // The replay was longer than the buffer lasts: read the rest from the log.
                        self.live = self.log.subscribe();
                        self.phase = Phase::replay();
                    }
                    Err(RecvError::Lagged(_)) => return Ok(FeedItem::Lagged),
                    // The feed holds a sender itself, so this cannot happen; fail rather than spin.
                    Err(RecvError::Closed) => {
                        return Err(crate::Error::Internal("the event broadcast closed".into()));
                    }
                },
            }
        }
    }

    fn visible(&self, event: &EventRecord) -> bool {
        match &self.scope {
            None => true,
            Some(merchant) => event.merchant_id.as_ref() == Some(merchant),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::macros::datetime;

    use super::*;
    use crate::event::{EventKind, NewEvent};
    use crate::ids::PoiId;

    fn site(id: &str) -> MerchantId {
        MerchantId::parse(id).unwrap()
    }

    fn event(merchant: &str, at_ms: i64) -> NewEvent {
        NewEvent {
            merchant_id: Some(site(merchant)),
            at: datetime!(2026-01-01 00:00 UTC) + time::Duration::milliseconds(at_ms),
            kind: EventKind::NewPoi {
                poi_id: PoiId::derive(&site(merchant), "pointOfService", "001"),
            },
        }
    }

    async fn log(capacity: usize) -> EventLog {
        EventLog::new(
            crate::store::open("sqlite::memory:").await.unwrap(),
            capacity,
        )
    }

    /// Appends without the tailer and broadcasts the records by hand, as the tailer would.
    async fn publish(log: &EventLog, events: &[NewEvent]) -> Vec<EventRecord> {
        let records = log.store.append_events(events).await.unwrap();
        for record in &records {
            let _ = log.sender.send(Arc::new(record.clone()));
        }
        records
    }

    async fn next_event(feed: &mut Feed) -> EventRecord {
        match feed.next().await.unwrap() {
            FeedItem::Event(event) => (*event).clone(),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// Publishes a marker and checks it is the next event: nothing else was pending.
    async fn nothing_else(log: &EventLog, feed: &mut Feed, merchant: &str) {
        let marker = publish(log, &[event(merchant, 9_999)]).await;
        assert_eq!(
            next_event(feed).await,
            marker[0],
            "nothing before the marker"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replay_then_live_has_no_gap_and_no_duplicate() {
        let log = log(4_096).await;
        let stop = stop_signal();
        let tailer = {
            let (log, stop) = (log.clone(), stop.clone());
            tokio::spawn(async move {
                log.run_tailer(Duration::from_millis(5), stop.notified_owned())
                    .await
            })
        };
        // History before the subscriber arrives, both sites interleaved.
        for n in 0..40 {
            let merchant = if n % 2 == 0 { "m-1" } else { "m-2" };
            log.append(&[event(merchant, n)]).await.unwrap();
        }
        // Writers keep going while the subscriber replays and goes live.
        let writer = {
            let log = log.clone();
            tokio::spawn(async move {
                for n in 40..400 {
                    let merchant = if n % 2 == 0 { "m-1" } else { "m-2" };
                    log.append(&[event(merchant, n)]).await.unwrap();
                    if n % 7 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        };
        let mut feed = log.feed(Some(site("m-1")), EventId::new(10));
        let mut seen = Vec::new();
        while seen.len() < 195 {
            let event = next_event(&mut feed).await;
            assert_eq!(event.merchant_id, Some(site("m-1")), "only its own site");
            seen.push(event.id.value());
        }
        writer.await.unwrap();
        // Every m-1 event after id 10 (odd ids: 11, 13, …, 399), once and in order.
        assert_eq!(seen, (11..400).step_by(2).collect::<Vec<_>>());
        assert_eq!(feed.position(), EventId::new(399));
        stop.notify_one();
        tailer.await.unwrap();
    }

    /// What stops the tailer.
    fn stop_signal() -> Arc<tokio::sync::Notify> {
        Arc::new(tokio::sync::Notify::new())
    }

    #[tokio::test]
    async fn an_operator_feed_sees_every_site_and_site_less_events() {
        let log = log(64).await;
        let mut feed = log.feed(None, EventId::ZERO);
        let mut operator = event("m-1", 0);
        operator.merchant_id = None;
        publish(&log, &[event("m-1", 1), operator, event("m-2", 2)]).await;
        let ids: Vec<_> = [
            next_event(&mut feed).await,
            next_event(&mut feed).await,
            next_event(&mut feed).await,
        ]
        .iter()
        .map(|e| e.id.value())
        .collect();
        assert_eq!(ids, vec![1, 2, 3]);
        nothing_else(&log, &mut feed, "m-2").await;
    }

    #[tokio::test]
    async fn a_gap_beyond_retention_is_announced_before_the_rest() {
        let log = log(64).await;
        publish(
            &log,
            &(0..6).map(|n| event("m-1", n * 100)).collect::<Vec<_>>(),
        )
        .await;
        // Ids 1..=3 are older than 250 ms: purged.
        log.purge(datetime!(2026-01-01 00:00:00.250 UTC))
            .await
            .unwrap();
        let mut feed = log.feed(Some(site("m-1")), EventId::new(1));
        assert_eq!(
            feed.next().await.unwrap(),
            FeedItem::Lost {
                after: EventId::new(1),
                through: EventId::new(3)
            }
        );
        assert_eq!(next_event(&mut feed).await.id, EventId::new(4));
        assert_eq!(next_event(&mut feed).await.id, EventId::new(5));
        assert_eq!(next_event(&mut feed).await.id, EventId::new(6));
        // A subscriber at or above the floor hears of no loss.
        let mut feed = log.feed(Some(site("m-1")), EventId::new(3));
        assert_eq!(next_event(&mut feed).await.id, EventId::new(4));
    }

    #[tokio::test]
    async fn a_live_subscriber_that_falls_behind_is_cut() {
        let log = log(2).await;
        let mut feed = log.feed(Some(site("m-1")), EventId::ZERO);
        publish(&log, &[event("m-1", 1)]).await;
        assert_eq!(next_event(&mut feed).await.id, EventId::new(1), "replayed");
        publish(&log, &[event("m-1", 2)]).await;
        assert_eq!(next_event(&mut feed).await.id, EventId::new(2), "live");
        // Three events while it does not read: one more than the buffer holds.
        publish(&log, &[event("m-1", 3), event("m-2", 4), event("m-1", 5)]).await;
        assert_eq!(feed.next().await.unwrap(), FeedItem::Lagged);
        // It resumes from its last id and gets exactly what it missed.
        let mut resumed = log.feed(Some(site("m-1")), EventId::new(2));
        assert_eq!(next_event(&mut resumed).await.id, EventId::new(3));
        assert_eq!(next_event(&mut resumed).await.id, EventId::new(5));
        nothing_else(&log, &mut resumed, "m-1").await;
    }

    #[tokio::test]
    async fn a_replay_longer_than_the_buffer_reads_the_rest_from_the_log() {
        let log = log(2).await;
        publish(&log, &[event("m-1", 0)]).await;
        let mut feed = log.feed(Some(site("m-1")), EventId::ZERO);
        // Ten events broadcast before the subscriber reads anything: its receiver lags.
        publish(&log, &(1..=10).map(|n| event("m-1", n)).collect::<Vec<_>>()).await;
        let ids: Vec<_> = futures_collect(&mut feed, 11).await;
        assert_eq!(
            ids,
            (1..=11).collect::<Vec<_>>(),
            "no lag reported, no loss"
        );
        publish(&log, &[event("m-1", 11)]).await;
        assert_eq!(next_event(&mut feed).await.id, EventId::new(12));
    }

    async fn futures_collect(feed: &mut Feed, count: usize) -> Vec<i64> {
        let mut ids = Vec::new();
        while ids.len() < count {
            ids.push(next_event(feed).await.id.value());
        }
        ids
    }
}
