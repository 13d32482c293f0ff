//! Cases: the event log's order, site filter and retention.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::event::{EventKind, EventRecord, NewEvent};
use crate::ids::{EventId, TransactionId};
use crate::store::Store;

use super::fixtures::{at, event, merchant, poi, transaction};

/// The ids of `events`.
fn ids(events: &[EventRecord]) -> Vec<i64> {
    events.iter().map(|e| e.id.value()).collect()
}

pub(super) async fn events_keep_commit_order_under_concurrent_writers(store: Arc<dyn Store>) {
    const WRITERS: usize = 8;
    const WRITES: usize = 15;
    let done = Arc::new(AtomicBool::new(false));
    // A tailer reading while the writers run must never see a gap it later has to go back for.
    let tailer = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut last = EventId::ZERO;
            loop {
                let finished = done.load(Ordering::SeqCst);
                for e in store.events_after(None, last, 1_000).await.unwrap() {
                    assert_eq!(e.id.value(), last.value() + 1, "a reader saw a gap");
                    last = e.id;
                }
                if finished {
                    return last;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for n in 0..WRITES {
                    let tag = format!("m-{w}");
                    let batch = [event(Some(&tag), n as i64), event(Some(&tag), n as i64)];
                    let written = if n % 3 == 0 {
                        // Events written with a state change share its transaction.
                        let t = transaction(n as i64);
                        match store
                            .create_transaction(&t, None, &batch, &[])
                            .await
                            .unwrap()
                        {
                            crate::store::Created::Inserted(events) => events,
                            crate::store::Created::Duplicate(_) => unreachable!(),
                        }
                    } else {
                        store.append_events(&batch).await.unwrap()
                    };
                    assert_eq!(written.len(), 2);
                    assert_eq!(written[1].id.value(), written[0].id.value() + 1);
                    mine.extend(written);
                }
                mine
            })
        })
        .collect();
    let mut written = Vec::new();
    for writer in writers {
        let mine = writer.await.unwrap();
        let mine_ids = ids(&mine);
        assert!(
            mine_ids.windows(2).all(|w| w[0] < w[1]),
            "one writer's ids increase"
        );
        written.extend(mine);
    }
    done.store(true, Ordering::SeqCst);
    let total = i64::try_from(WRITERS * WRITES * 2).unwrap();
    assert_eq!(tailer.await.unwrap(), EventId::new(total));

    let all = store
        .events_after(None, EventId::ZERO, 10_000)
        .await
        .unwrap();
    assert_eq!(
        ids(&all),
        (1..=total).collect::<Vec<_>>(),
        "contiguous from 1"
    );
    written.sort_by_key(|e| e.id);
    assert_eq!(all, written, "what was returned is what was stored");
    assert_eq!(store.latest_event_id().await.unwrap(), EventId::new(total));
    // Paging with `after` and `limit` walks the same sequence.
    let page = store.events_after(None, EventId::new(10), 5).await.unwrap();
    assert_eq!(ids(&page), vec![11, 12, 13, 14, 15]);
}

pub(super) async fn events_after_filters_by_site(store: Arc<dyn Store>) {
    let appended = store
        .append_events(&[
            event(Some("m-1"), 1),
            event(Some("m-2"), 2),
            event(None, 3),
            event(Some("m-1"), 4),
            NewEvent {
                merchant_id: Some(merchant("m-1")),
                at: at(5),
                kind: EventKind::TransactionUpdated {
                    transaction_id: TransactionId::generate(),
                    poi_id: poi("002"),
                    transaction_kind: crate::transaction::TransactionKind::Refund,
                    state: crate::transaction::TransactionState::Unknown,
                },
            },
        ])
        .await
        .unwrap();
    assert_eq!(ids(&appended), vec![1, 2, 3, 4, 5]);
    let site = |id: &str| merchant(id);

    let all = store.events_after(None, EventId::ZERO, 100).await.unwrap();
    assert_eq!(all, appended);
    let m1 = store
        .events_after(Some(&site("m-1")), EventId::ZERO, 100)
        .await
        .unwrap();
    assert_eq!(ids(&m1), vec![1, 4, 5]);
    assert_eq!(m1[2], appended[4]);
    let m1_after = store
        .events_after(Some(&site("m-1")), EventId::new(1), 1)
        .await
        .unwrap();
    assert_eq!(ids(&m1_after), vec![4]);
    let m2 = store
        .events_after(Some(&site("m-2")), EventId::ZERO, 100)
        .await
        .unwrap();
    assert_eq!(ids(&m2), vec![2]);
    let none = store
        .events_after(Some(&site("m-3")), EventId::ZERO, 100)
        .await
        .unwrap();
    assert_eq!(none, vec![]);
    assert_eq!(
        store
            .events_after(None, EventId::new(5), 100)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(store.append_events(&[]).await.unwrap(), vec![]);
    assert_eq!(store.latest_event_id().await.unwrap(), EventId::new(5));
}

pub(super) async fn purge_keeps_a_contiguous_tail(store: Arc<dyn Store>) {
    assert_eq!(store.latest_event_id().await.unwrap(), EventId::ZERO);
    assert_eq!(store.purged_through().await.unwrap(), EventId::ZERO);
    assert_eq!(
        store.purge_events(at(1_000)).await.unwrap(),
        0,
        "an empty log"
    );
    // Ids 1..=6 at 100, 200, 300, 900 (late), 400, 500 ms.
    let times = [100, 200, 300, 900, 400, 500];
    let batch: Vec<_> = times.iter().map(|t| event(Some("m-1"), *t)).collect();
    store.append_events(&batch).await.unwrap();

    assert_eq!(
        store.purge_events(at(100)).await.unwrap(),
        0,
        "strictly older"
    );
    assert_eq!(store.purged_through().await.unwrap(), EventId::ZERO);
    assert_eq!(store.purge_events(at(250)).await.unwrap(), 2);
    assert_eq!(store.purged_through().await.unwrap(), EventId::new(2));
    // Event 4 is not older than 450 ms: the purge stops before it, keeping 4, 5, 6.
    assert_eq!(store.purge_events(at(450)).await.unwrap(), 1);
    assert_eq!(store.purged_through().await.unwrap(), EventId::new(3));
    let left = store.events_after(None, EventId::ZERO, 100).await.unwrap();
    assert_eq!(ids(&left), vec![4, 5, 6]);
    assert_eq!(store.purge_events(at(50)).await.unwrap(), 0);
    assert_eq!(
        store.purged_through().await.unwrap(),
        EventId::new(3),
        "never lowered"
    );

    assert_eq!(store.purge_events(at(10_000)).await.unwrap(), 3);
    assert_eq!(store.purged_through().await.unwrap(), EventId::new(6));
    assert_eq!(store.latest_event_id().await.unwrap(), EventId::new(6));
    // Ids are never reused after a purge.
    let next = store.append_events(&[event(None, 20_000)]).await.unwrap();
    assert_eq!(ids(&next), vec![7]);
    assert_eq!(store.purge_events(at(10_000)).await.unwrap(), 0);
    assert_eq!(store.purged_through().await.unwrap(), EventId::new(6));
}

pub(super) async fn known_pois_are_announced_once(store: Arc<dyn Store>) {
    let (m1, m2) = (merchant("m-1"), merchant("m-2"));
    let (a, b, c) = (poi("001"), poi("002"), poi("003"));
    let d = crate::ids::PoiId::derive(&m2, "fuelingPoint", "001");
    let names = |events: &[EventRecord]| -> Vec<(Option<String>, crate::ids::PoiId)> {
        events
            .iter()
            .map(|e| match &e.kind {
                EventKind::NewPoi { poi_id } => {
                    (e.merchant_id.as_ref().map(ToString::to_string), *poi_id)
                }
                other => panic!("not a newPOIEvent: {other:?}"),
            })
            .collect()
    };

    // The very first start records the configuration without announcing it.
    let first = [(m1.clone(), a), (m1.clone(), b)];
    assert_eq!(store.sync_known_pois(&first, at(1)).await.unwrap(), vec![]);
    assert_eq!(store.latest_event_id().await.unwrap(), EventId::ZERO);
    assert_eq!(store.sync_known_pois(&first, at(2)).await.unwrap(), vec![]);

    // Additions are announced once, to their own site, in configuration order.
    let added = store
        .sync_known_pois(
            &[
                (m1.clone(), a),
                (m2.clone(), d),
                (m1.clone(), b),
                (m1.clone(), c),
            ],
            at(3),
        )
        .await
        .unwrap();
    assert_eq!(
        names(&added),
        vec![(Some("m-2".into()), d), (Some("m-1".into()), c)]
    );
    assert_eq!(ids(&added), vec![1, 2]);
    assert_eq!(added[0].at, at(3));
    let all = store.events_after(None, EventId::ZERO, 10).await.unwrap();
    assert_eq!(all, added, "the events are in the log");
    assert_eq!(
        store
            .sync_known_pois(
                &[
                    (m1.clone(), a),
                    (m2.clone(), d),
                    (m1.clone(), b),
                    (m1.clone(), c)
                ],
                at(4)
            )
            .await
            .unwrap(),
        vec![]
    );

    // A POI dropped from the configuration and added back later is announced again.
    assert_eq!(
        store
            .sync_known_pois(&[(m1.clone(), a), (m1.clone(), c)], at(5))
            .await
            .unwrap(),
        vec![]
    );
    let again = store
        .sync_known_pois(&[(m1.clone(), a), (m1.clone(), b)], at(6))
        .await
        .unwrap();
    assert_eq!(names(&again), vec![(Some("m-1".into()), b)]);

    // A configuration with no POIs at all is still a recorded one: what comes next is new.
    assert_eq!(store.sync_known_pois(&[], at(7)).await.unwrap(), vec![]);
    let back = store
        .sync_known_pois(&[(m1.clone(), a)], at(8))
        .await
        .unwrap();
    assert_eq!(names(&back), vec![(Some("m-1".into()), a)]);
    assert_eq!(ids(&back), vec![4]);
}
