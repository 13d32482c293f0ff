//! Cases: follow-ups created under their original's lock, settled in one commit with it, and
//! the unresolved transaction that blocks a terminal.

use std::sync::Arc;

use crate::error::Error;
use crate::event::{EventKind, NewEvent};
use crate::ids::{TerminalId, TransactionId};
use crate::payments::judge_follow_up;
use crate::store::{Created, Store, TransactionWrite};
use crate::transaction::{TransactionKind, TransactionRecord, TransactionState};

use super::fixtures::{at, eur, key, transaction};

/// An approved payment of 100.00 EUR, stored.
async fn approved_payment(store: &Arc<dyn Store>) -> TransactionRecord {
    let paid = TransactionRecord {
        state: TransactionState::Approved,
        amount: eur(1_0000),
        ..transaction(0)
    };
    store
        .create_transaction(&paid, None, &[], &[])
        .await
        .unwrap();
    paid
}

/// A pending refund of `original` for `minor` cents, as a write with its event.
fn refund(original: &TransactionRecord, minor: i64, created: i64) -> TransactionWrite {
    let record = TransactionRecord {
        kind: TransactionKind::Refund,
        amount: eur(minor),
        original_id: Some(original.id),
        ..transaction(created)
    };
    let event = NewEvent {
        merchant_id: Some(record.merchant_id.clone()),
        at: record.created_at,
        kind: EventKind::TransactionUpdated {
            transaction_id: record.id,
            poi_id: record.poi_id,
            transaction_kind: record.kind,
            state: record.state,
        },
    };
    TransactionWrite {
        record,
        events: vec![event],
        journal: Vec::new(),
    }
}

pub(super) async fn concurrent_follow_ups_are_judged_one_at_a_time(store: Arc<dyn Store>) {
    let paid = approved_payment(&store).await;
    // Ten refunds of 30.00 race for a payment of 100.00: each is judged, under the original's
    // lock, against every refund stored before it, so exactly three fit.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (store, paid) = (store.clone(), paid.clone());
            tokio::spawn(async move {
                let write = refund(&paid, 3_000, i);
                let decide = |original: &TransactionRecord, others: &[TransactionRecord]| {
                    judge_follow_up(
                        TransactionKind::Refund,
                        Some(write.record.amount),
                        original,
                        others,
                    )?;
                    Ok(write.clone())
                };
                store.create_follow_up(&paid.id, None, &decide).await
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(Created::Inserted(events)) => {
                assert_eq!(events.len(), 1);
                admitted += 1;
            }
            Err(Error::FollowUpConflict { blocking, .. }) => assert_eq!(blocking.len(), 3),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(admitted, 3);
    assert_eq!(store.follow_ups(&paid.id).await.unwrap().len(), 3);
    assert!(matches!(
        store
            .create_follow_up(&TransactionId::generate(), None, &|_, _| unreachable!())
            .await,
        Err(Error::UnknownTransaction)
    ));
}

pub(super) async fn follow_up_keys_are_claimed_before_anything_is_judged(store: Arc<dyn Store>) {
    let paid = approved_payment(&store).await;
    let claim = key("pos-1", "refund-1");
    let first = refund(&paid, 1_000, 1);
    let created = store
        .create_follow_up(&paid.id, Some(&claim), &|_, _| Ok(first.clone()))
        .await
        .unwrap();
    assert!(matches!(created, Created::Inserted(_)));
    let again = store
        .create_follow_up(&paid.id, Some(&claim), &|_, _| {
            panic!("a key already used is a duplicate before any judgement")
        })
        .await
        .unwrap();
    assert!(matches!(again, Created::Duplicate(existing) if existing.key == claim.key));
    // A refusal writes nothing, not even the key.
    let other = key("pos-1", "refund-2");
    let refused = store
        .create_follow_up(&paid.id, Some(&other), &|_, _| {
            Err(Error::InvalidState("refused".into()))
        })
        .await;
    assert!(matches!(refused, Err(Error::InvalidState(_))));
    assert_eq!(
        store
            .idempotency(&other.client_id, &other.key)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.follow_ups(&paid.id).await.unwrap(),
        vec![first.record]
    );
}

pub(super) async fn follow_ups_settle_their_original_in_the_same_commit(store: Arc<dyn Store>) {
    let paid = approved_payment(&store).await;
    let pending = refund(&paid, 1_0000, 1);
    store
        .create_follow_up(&paid.id, None, &|_, _| Ok(pending.clone()))
        .await
        .unwrap();
    let mut approved = pending.clone();
    approved.record.state = TransactionState::Approved;
    approved.record.version = 2;
    approved.record.updated_at = at(2);
    let head = store.latest_event_id().await.unwrap();

    // A settlement that fails takes the follow-up's outcome down with it.
    let failed = store
        .update_follow_up(&approved, &|_, _| Err(Error::Internal("no".into())))
        .await;
    assert!(matches!(failed, Err(Error::Internal(_))));
    assert_eq!(
        store.transaction(&pending.record.id).await.unwrap(),
        Some(pending.record.clone())
    );
    assert_eq!(store.latest_event_id().await.unwrap(), head);

    let settle = |original: &TransactionRecord, follow_ups: &[TransactionRecord]| {
        assert_eq!(
            follow_ups,
            std::slice::from_ref(&approved.record),
            "sees the update"
        );
        let record = TransactionRecord {
            state: TransactionState::Refunded,
            refunded_amount: Some(eur(1_0000)),
            version: original.version + 1,
            updated_at: at(2),
            ..original.clone()
        };
        let mut write = refund(original, 0, 2);
        write.record = record;
        Ok(Some(write))
    };
    let events = store.update_follow_up(&approved, &settle).await.unwrap();
    assert_eq!(events.len(), 2, "the follow-up's event and the original's");
    let original = store.transaction(&paid.id).await.unwrap().unwrap();
    assert_eq!(original.state, TransactionState::Refunded);
    assert_eq!(original.refunded_amount, Some(eur(1_0000)));
    assert_eq!(
        store.transaction(&pending.record.id).await.unwrap(),
        Some(approved.record.clone())
    );
    // A stale follow-up version changes neither.
    let stale = store.update_follow_up(&approved, &|_, _| Ok(None)).await;
    assert!(matches!(stale, Err(Error::Conflict(_))), "{stale:?}");
    assert_eq!(store.transaction(&paid.id).await.unwrap(), Some(original));
}

pub(super) async fn the_newest_unresolved_transaction_blocks_its_terminal(store: Arc<dyn Store>) {
    let t1 = TerminalId::parse("t1").unwrap();
    assert_eq!(store.unresolved_on_terminal(&t1).await.unwrap(), None);
    let mut records = Vec::new();
    for (created, state, terminal) in [
        (1, TransactionState::Unknown, "t1"),
        (2, TransactionState::InProgress, "t1"),
        (3, TransactionState::Approved, "t1"),
        (4, TransactionState::Unknown, "t2"),
    ] {
        let record = TransactionRecord {
            state,
            terminal_id: TerminalId::parse(terminal).unwrap(),
            ..transaction(created)
        };
        store
            .create_transaction(&record, None, &[], &[])
            .await
            .unwrap();
        records.push(record);
    }
    assert_eq!(
        store.unresolved_on_terminal(&t1).await.unwrap(),
        Some(records[1].clone())
    );
}
