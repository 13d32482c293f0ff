//! Cases: transactions, idempotent creates, versions, listing, recovery queries and the journal.

use std::sync::Arc;

use crate::error::Error;
use crate::event::{EventKind, NewEvent};
use crate::ids::{IdempotencyKey, TransactionId};
use crate::store::{Created, Store};
use crate::transaction::{JournalEntry, TransactionQuery, TransactionRecord, TransactionState};

use super::fixtures::{at, full_transaction, key, merchant, poi, receipt, transaction};

fn updated(t: &TransactionRecord, state: TransactionState) -> NewEvent {
    NewEvent {
        merchant_id: Some(t.merchant_id.clone()),
        at: t.updated_at,
        kind: EventKind::TransactionUpdated {
            transaction_id: t.id,
            poi_id: t.poi_id,
            transaction_kind: t.kind,
            state,
        },
    }
}

fn inserted(created: Created) -> Vec<crate::event::EventRecord> {
    match created {
        Created::Inserted(events) => events,
        Created::Duplicate(existing) => panic!("unexpected duplicate of {existing:?}"),
    }
}

pub(super) async fn transactions_round_trip(store: Arc<dyn Store>) {
    let bare = transaction(1_000);
    inserted(
        store
            .create_transaction(&bare, None, &[], &[])
            .await
            .unwrap(),
    );
    let full = full_transaction(bare.id);
    inserted(
        store
            .create_transaction(&full, None, &[], &[])
            .await
            .unwrap(),
    );

    assert_eq!(store.transaction(&bare.id).await.unwrap(), Some(bare));
    assert_eq!(store.transaction(&full.id).await.unwrap(), Some(full));
    assert_eq!(
        store.transaction(&TransactionId::generate()).await.unwrap(),
        None
    );
}

pub(super) async fn idempotent_creates_store_once(store: Arc<dyn Store>) {
    let first = transaction(0);
    let claim = key("pos-1", "k-1");
    let events = inserted(
        store
            .create_transaction(&first, Some(&claim), &[updated(&first, first.state)], &[])
            .await
            .unwrap(),
    );
    assert_eq!(events.len(), 1);
    let head = store.latest_event_id().await.unwrap();

    // The same key again: nothing written, the first key returned.
    let retry = transaction(5);
    let mut later_claim = key("pos-1", "k-1");
    later_claim.fingerprint = "other".into();
    let created = store
        .create_transaction(
            &retry,
            Some(&later_claim),
            &[updated(&retry, retry.state)],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(created, Created::Duplicate(claim.clone()));
    assert_eq!(store.transaction(&retry.id).await.unwrap(), None);
    assert_eq!(store.latest_event_id().await.unwrap(), head);

    // The key space is shared with reconciliations and plain keys, and is per client.
    let reconciliation = super::fixtures::reconciliation(0);
    let created = store
        .create_reconciliation(&reconciliation, Some(&later_claim), &[])
        .await
        .unwrap();
    assert_eq!(created, Created::Duplicate(claim.clone()));
    assert_eq!(
        store.reconciliation(&reconciliation.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.insert_idempotency(&later_claim).await.unwrap(),
        Some(claim.clone())
    );
    let other_client = key("pos-2", "k-1");
    inserted(
        store
            .create_transaction(&retry, Some(&other_client), &[], &[])
            .await
            .unwrap(),
    );
    // Without a key nothing is deduplicated.
    inserted(
        store
            .create_transaction(&transaction(6), None, &[], &[])
            .await
            .unwrap(),
    );
}

pub(super) async fn failed_creates_leave_nothing_behind(store: Arc<dyn Store>) {
    let first = transaction(0);
    inserted(
        store
            .create_transaction(&first, None, &[], &[])
            .await
            .unwrap(),
    );
    let head = store.latest_event_id().await.unwrap();
    // The same transaction id again fails after the key was claimed: the key must not stay.
    let claim = key("pos-1", "k-lost");
    let err = store
        .create_transaction(&first, Some(&claim), &[updated(&first, first.state)], &[])
        .await;
    assert!(err.is_err());
    assert_eq!(
        store
            .idempotency(&claim.client_id, &claim.key)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.latest_event_id().await.unwrap(), head);
    // A dangling reference is refused (foreign keys are on).
    let orphan = full_transaction(TransactionId::generate());
    assert!(
        store
            .create_transaction(&orphan, None, &[], &[])
            .await
            .is_err()
    );
    assert_eq!(store.transaction(&orphan.id).await.unwrap(), None);
}

pub(super) async fn concurrent_identical_creates_insert_once(store: Arc<dyn Store>) {
    let claim = key("pos-1", "race");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let claim = claim.clone();
            tokio::spawn(async move {
                // Each attempt is a new transaction, as the API creates one per request.
                let attempt = transaction(i);
                let event = updated(&attempt, attempt.state);
                let created = store
                    .create_transaction(&attempt, Some(&claim), &[event], &[])
                    .await
                    .unwrap();
                (attempt.id, created)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (id, Created::Inserted(events)) => winners.push((id, events)),
            (_, Created::Duplicate(existing)) => assert_eq!(existing, claim),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create inserts");
    let (winner, events) = winners.remove(0);
    let page = store.transactions(&query(50)).await.unwrap();
    assert_eq!(page.iter().map(|t| t.id).collect::<Vec<_>>(), vec![winner]);
    assert_eq!(events.len(), 1);
    assert_eq!(store.latest_event_id().await.unwrap(), events[0].id);

    let plain = key("pos-1", "race-plain");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, plain) = (store.clone(), plain.clone());
            tokio::spawn(async move { store.insert_idempotency(&plain).await.unwrap() })
        })
        .collect();
    let mut fresh = 0;
    for task in tasks {
        match task.await.unwrap() {
            None => fresh += 1,
            Some(existing) => assert_eq!(existing, plain),
        }
    }
    assert_eq!(fresh, 1, "exactly one insert_idempotency stores the key");
}

pub(super) async fn idempotency_keys_round_trip(store: Arc<dyn Store>) {
    let bare = key("pos-1", "bare");
    let mut full = key("pos-1", "full");
    full.resource = Some("transaction:123".into());
    full.outcome = Some("{\"status\":201}".into());
    assert_eq!(store.insert_idempotency(&bare).await.unwrap(), None);
    assert_eq!(store.insert_idempotency(&full).await.unwrap(), None);
    assert_eq!(
        store.idempotency(&bare.client_id, &bare.key).await.unwrap(),
        Some(bare.clone())
    );
    assert_eq!(
        store.idempotency(&full.client_id, &full.key).await.unwrap(),
        Some(full.clone())
    );
    let unknown = IdempotencyKey::parse("unknown").unwrap();
    assert_eq!(
        store.idempotency(&bare.client_id, &unknown).await.unwrap(),
        None
    );

    store
        .complete_idempotency(&bare.client_id, &bare.key, "{\"status\":200}")
        .await
        .unwrap();
    let completed = store
        .idempotency(&bare.client_id, &bare.key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(completed.outcome.as_deref(), Some("{\"status\":200}"));
    assert!(
        store
            .complete_idempotency(&bare.client_id, &unknown, "x")
            .await
            .is_err()
    );

    let mut short = key("pos-1", "short");
    short.expires_at = at(1_000);
    store.insert_idempotency(&short).await.unwrap();
    assert_eq!(
        store.purge_idempotency(at(1_000)).await.unwrap(),
        0,
        "strictly before"
    );
    assert_eq!(store.purge_idempotency(at(1_001)).await.unwrap(), 1);
    assert_eq!(
        store
            .idempotency(&short.client_id, &short.key)
            .await
            .unwrap(),
        None
    );
    // A purged key can be used again.
    assert_eq!(store.insert_idempotency(&short).await.unwrap(), None);
}

pub(super) async fn updates_need_the_next_version(store: Arc<dyn Store>) {
    let mut t = transaction(0);
    inserted(store.create_transaction(&t, None, &[], &[]).await.unwrap());

    t.state = TransactionState::InProgress;
    t.version = 2;
    t.updated_at = at(10);
    let events = store
        .update_transaction(&t, &[updated(&t, t.state)], &[])
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(store.transaction(&t.id).await.unwrap(), Some(t.clone()));
    let head = store.latest_event_id().await.unwrap();

    for stale in [2, 4, 1] {
        let mut other = t.clone();
        other.state = TransactionState::Unknown;
        other.version = stale;
        let err = store
            .update_transaction(&other, &[updated(&other, other.state)], &[])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "version {stale}: {err}");
    }
    assert_eq!(store.transaction(&t.id).await.unwrap(), Some(t.clone()));
    assert_eq!(
        store.latest_event_id().await.unwrap(),
        head,
        "no events from failed updates"
    );
    let missing = TransactionRecord {
        version: 2,
        ..transaction(0)
    };
    assert!(matches!(
        store.update_transaction(&missing, &[], &[]).await,
        Err(Error::UnknownTransaction)
    ));

    // Concurrent updaters of one version: exactly one wins.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            let mut next = t.clone();
            next.version = 3;
            next.reason = Some(format!("writer {i}").into());
            tokio::spawn(async move { store.update_transaction(&next, &[], &[]).await })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(Error::Conflict(_)) => {}
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.transaction(&t.id).await.unwrap().unwrap().version, 3);
}

fn query(limit: u32) -> TransactionQuery {
    TransactionQuery {
        merchant_id: merchant("m-1"),
        state: None,
        poi_id: None,
        created_from: None,
        created_to: None,
        before: None,
        limit,
    }
}

pub(super) async fn transaction_listing_filters_and_pages(store: Arc<dyn Store>) {
    use TransactionState::*;
    // (created ms, POI, state); two share a creation time to exercise the id tie-break.
    let specs = [
        (100, "001", Approved),
        (200, "002", Declined),
        (300, "001", Approved),
        (300, "002", Approved),
        (400, "001", Pending),
        (500, "002", Approved),
    ];
    let mut all = Vec::new();
    for (created, logical, state) in specs {
        let mut t = transaction(created);
        t.poi_id = poi(logical);
        t.state = state;
        inserted(store.create_transaction(&t, None, &[], &[]).await.unwrap());
        all.push(t);
    }
    let mut elsewhere = transaction(350);
    elsewhere.merchant_id = merchant("m-2");
    inserted(
        store
            .create_transaction(&elsewhere, None, &[], &[])
            .await
            .unwrap(),
    );

    // Newest first: by creation time, then id.
    let mut newest_first = all.clone();
    newest_first.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
    let ids = |list: Vec<TransactionRecord>| list.into_iter().map(|t| t.id).collect::<Vec<_>>();
    let expect = |keep: &dyn Fn(&TransactionRecord) -> bool| {
        newest_first
            .iter()
            .filter(|t| keep(t))
            .map(|t| t.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.transactions(&query(50)).await.unwrap()),
        expect(&|_| true)
    );

    let approved = TransactionQuery {
        state: Some(Approved),
        ..query(50)
    };
    assert_eq!(
        ids(store.transactions(&approved).await.unwrap()),
        expect(&|t| t.state == Approved)
    );
    let lane = TransactionQuery {
        poi_id: Some(poi("001")),
        ..query(50)
    };
    assert_eq!(
        ids(store.transactions(&lane).await.unwrap()),
        expect(&|t| t.poi_id == poi("001"))
    );
    let window = TransactionQuery {
        created_from: Some(at(200)),
        created_to: Some(at(400)),
        ..query(50)
    };
    assert_eq!(
        ids(store.transactions(&window).await.unwrap()),
        expect(&|t| t.created_at >= at(200) && t.created_at < at(400))
    );
    let combined = TransactionQuery {
        state: Some(Approved),
        poi_id: Some(poi("002")),
        created_from: Some(at(300)),
        ..query(50)
    };
    assert_eq!(
        ids(store.transactions(&combined).await.unwrap()),
        expect(&|t| t.state == Approved && t.poi_id == poi("002") && t.created_at >= at(300))
    );

    // Pages of two, each continuing before the last id of the previous one.
    let mut paged = Vec::new();
    let mut page_query = query(2);
    loop {
        let page = store.transactions(&page_query).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        page_query.before = Some(last.id);
        paged.extend(ids(page));
    }
    assert_eq!(paged, expect(&|_| true));
    let after_unknown = TransactionQuery {
        before: Some(TransactionId::generate()),
        ..query(50)
    };
    assert_eq!(store.transactions(&after_unknown).await.unwrap(), vec![]);
    assert_eq!(store.transactions(&query(0)).await.unwrap(), vec![]);
}

pub(super) async fn unresolved_transactions_oldest_first(store: Arc<dyn Store>) {
    let mut expected = Vec::new();
    for (i, state) in TransactionState::ALL.into_iter().rev().enumerate() {
        let mut t = transaction(1_000 - i64::try_from(i).unwrap() * 10);
        t.state = state;
        inserted(store.create_transaction(&t, None, &[], &[]).await.unwrap());
        if state.is_unresolved() {
            expected.push(t);
        }
    }
    expected.sort_by_key(|t| (t.created_at, t.id));
    assert_eq!(store.unresolved_transactions().await.unwrap(), expected);
}

pub(super) async fn journal_oldest_first(store: Arc<dyn Store>) {
    let entry = |subject: &str, at_ms, step: &str| JournalEntry {
        subject_id: subject.into(),
        at: at(at_ms),
        step: step.into(),
        detail: format!("{step} detail: card 680533######4747").into(),
    };
    let entries = [
        entry("tx-a", 20, "sent"),
        entry("tx-b", 5, "created"),
        entry("tx-a", 10, "created"),
        entry("tx-a", 20, "response"),
        entry("tx-a", 15, "sending"),
    ];
    for e in &entries {
        store.append_journal(e).await.unwrap();
    }
    // By time; entries of one millisecond in the order they were appended.
    assert_eq!(
        store.journal("tx-a").await.unwrap(),
        vec![
            entries[2].clone(),
            entries[4].clone(),
            entries[0].clone(),
            entries[3].clone()
        ]
    );
    assert_eq!(
        store.journal("tx-b").await.unwrap(),
        vec![entries[1].clone()]
    );
    assert_eq!(store.journal("tx-c").await.unwrap(), vec![]);
}

/// Journal steps written with a create or an update commit with it, and vanish with it.
pub(super) async fn journal_steps_commit_with_their_change(store: Arc<dyn Store>) {
    let step = |t: &crate::transaction::TransactionRecord, at_ms, name: &str| JournalEntry {
        subject_id: t.id.to_string(),
        at: at(at_ms),
        step: name.into(),
        detail: format!("{name} detail").into(),
    };
    let mut t = transaction(0);
    let created = step(&t, 0, "created");
    inserted(
        store
            .create_transaction(&t, None, &[], std::slice::from_ref(&created))
            .await
            .unwrap(),
    );
    t.state = TransactionState::InProgress;
    t.version = 2;
    let sent = step(&t, 1, "sent");
    store
        .update_transaction(&t, &[], std::slice::from_ref(&sent))
        .await
        .unwrap();
    let mut stale = t.clone();
    stale.state = TransactionState::Unknown;
    let lost = step(&t, 2, "linkLost");
    let err = store
        .update_transaction(&stale, &[], &[lost])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    let receipt = receipt(Some(t.id));
    let printed = step(&t, 3, "receipt");
    store
        .insert_receipt(&receipt, &[], std::slice::from_ref(&printed))
        .await
        .unwrap();
    assert_eq!(
        store.journal(&t.id.to_string()).await.unwrap(),
        vec![created, sent, printed]
    );
}

pub(super) async fn follow_ups_and_lookup_by_request(store: Arc<dyn Store>) {
    let sale = transaction(0);
    inserted(
        store
            .create_transaction(&sale, None, &[], &[])
            .await
            .unwrap(),
    );
    let mut refund = full_transaction(sale.id);
    refund.created_at = at(5_000);
    let mut reversal = full_transaction(sale.id);
    reversal.kind = crate::transaction::TransactionKind::Reversal;
    reversal.created_at = at(4_000);
    let unrelated = transaction(1_000);
    for t in [&refund, &reversal, &unrelated] {
        inserted(store.create_transaction(t, None, &[], &[]).await.unwrap());
    }
    assert_eq!(
        store.follow_ups(&sale.id).await.unwrap(),
        vec![reversal.clone(), refund.clone()]
    );
    assert_eq!(store.follow_ups(&refund.id).await.unwrap(), vec![]);

    let request = |id: &str| crate::ids::TerminalRequestId::parse(id).unwrap();
    let t1 = crate::ids::TerminalId::parse("t1").unwrap();
    let mut on_t2 = transaction(2_000);
    on_t2.terminal_id = crate::ids::TerminalId::parse("t2").unwrap();
    on_t2.terminal_request_id = request("777");
    let mut on_t1 = transaction(3_000);
    on_t1.terminal_request_id = request("777");
    inserted(
        store
            .create_transaction(&on_t2, None, &[], &[])
            .await
            .unwrap(),
    );
    inserted(
        store
            .create_transaction(&on_t1, None, &[], &[])
            .await
            .unwrap(),
    );
    assert_eq!(
        store
            .transaction_by_request(&t1, &request("777"))
            .await
            .unwrap(),
        Some(on_t1)
    );
    assert_eq!(
        store
            .transaction_by_request(&t1, &request("778"))
            .await
            .unwrap(),
        None
    );
    // A reused RequestID finds the newest transaction that used it.
    let shared = store
        .transaction_by_request(&t1, &sale.terminal_request_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        shared.id, refund.id,
        "newest of sale, refund, reversal and unrelated"
    );
}
