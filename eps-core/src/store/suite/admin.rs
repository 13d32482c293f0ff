//! Operators' reads: the search across sites and the audit log.

use std::sync::Arc;

use super::fixtures::*;
use crate::audit::{AuditAction, AuditOutcome, AuditQuery, NewAuditEntry};
use crate::money::Currency;
use crate::redact::MaskedText;
use crate::store::Store;
use crate::transaction::search::{AmountRange, TransactionSearch};
use crate::transaction::{TransactionKind, TransactionState};

fn everything(limit: u32) -> TransactionSearch {
    TransactionSearch {
        merchant_id: None,
        poi_id: None,
        state: None,
        kind: None,
        created_from: None,
        created_to: None,
        amount: None,
        after: None,
        limit,
    }
}

pub(super) async fn search_spans_sites_filters_and_pages(store: Arc<dyn Store>) {
    let mut stored = Vec::new();
    for (i, (site, state, minor)) in [
        ("m-1", TransactionState::Approved, 1_000),
        ("m-2", TransactionState::Unknown, 2_000),
        ("m-1", TransactionState::Unknown, 3_000),
        ("m-2", TransactionState::Approved, 4_000),
    ]
    .into_iter()
    .enumerate()
    {
        let mut t = transaction(i64::try_from(i).unwrap() * 1_000);
        t.merchant_id = merchant(site);
        t.state = state;
        t.amount = eur(minor);
        store.create_transaction(&t, None, &[], &[]).await.unwrap();
        stored.push(t.id);
    }
    let ids = |page: Vec<crate::transaction::TransactionRecord>| {
        page.into_iter().map(|t| t.id).collect::<Vec<_>>()
    };
    let newest: Vec<_> = stored.iter().rev().copied().collect();
    assert_eq!(
        ids(store.search_transactions(&everything(10)).await.unwrap()),
        newest
    );

    let site = TransactionSearch {
        merchant_id: Some(merchant("m-2")),
        ..everything(10)
    };
    assert_eq!(
        ids(store.search_transactions(&site).await.unwrap()),
        vec![stored[3], stored[1]]
    );
    // The unknown queue runs oldest first, and its cursor follows that order.
    let queue = TransactionSearch {
        state: Some(TransactionState::Unknown),
        ..everything(1)
    };
    let first = ids(store.search_transactions(&queue).await.unwrap());
    assert_eq!(first, vec![stored[1]]);
    let second = TransactionSearch {
        after: Some(stored[1]),
        ..queue.clone()
    };
    assert_eq!(
        ids(store.search_transactions(&second).await.unwrap()),
        vec![stored[2]]
    );
    let past = TransactionSearch {
        after: Some(stored[2]),
        ..queue
    };
    assert!(store.search_transactions(&past).await.unwrap().is_empty());

    let range = TransactionSearch {
        amount: Some(AmountRange {
            currency: Currency::parse("EUR").unwrap(),
            min: Some(2_000),
            max: Some(3_000),
        }),
        ..everything(10)
    };
    assert_eq!(
        ids(store.search_transactions(&range).await.unwrap()),
        vec![stored[2], stored[1]]
    );
    let dollars = TransactionSearch {
        amount: Some(AmountRange {
            currency: Currency::parse("USD").unwrap(),
            min: None,
            max: None,
        }),
        ..everything(10)
    };
    assert!(
        store
            .search_transactions(&dollars)
            .await
            .unwrap()
            .is_empty()
    );
    let refunds = TransactionSearch {
        kind: Some(TransactionKind::Refund),
        ..everything(10)
    };
    assert!(
        store
            .search_transactions(&refunds)
            .await
            .unwrap()
            .is_empty()
    );
    let window = TransactionSearch {
        created_from: Some(at(1_000)),
        created_to: Some(at(3_000)),
        ..everything(10)
    };
    assert_eq!(
        ids(store.search_transactions(&window).await.unwrap()),
        vec![stored[2], stored[1]]
    );
    let pages = TransactionSearch {
        after: Some(stored[2]),
        ..everything(10)
    };
    assert_eq!(
        ids(store.search_transactions(&pages).await.unwrap()),
        vec![stored[1], stored[0]]
    );
}

pub(super) async fn audit_entries_append_and_filter(store: Arc<dyn Store>) {
    let entry = |i: i64, action: AuditAction, target: &str, reason: Option<&str>| NewAuditEntry {
        at: at(i * 1_000),
        actor: if i == 2 {
            "cli:root".into()
        } else {
            "operator".into()
        },
        action,
        target: target.into(),
        reason: reason.map(MaskedText::new),
        outcome: if i == 3 {
            AuditOutcome::Failure
        } else {
            AuditOutcome::Success
        },
        detail: MaskedText::new("card 4761739001010010 seen"),
    };
    let written = [
        entry(1, AuditAction::ResolveTransaction, "tx-1", Some("checked")),
        entry(2, AuditAction::ClientAdd, "pos-1", None),
        entry(3, AuditAction::ForceDisconnect, "conn-1", None),
        entry(4, AuditAction::ResolveTransaction, "tx-1", Some("again")),
    ];
    let mut seqs = Vec::new();
    for e in &written {
        let stored = store.append_audit(e).await.unwrap();
        assert_eq!(&stored.entry, e);
        seqs.push(stored.seq);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let all = store
        .audit_entries(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let back: Vec<_> = all.iter().map(|e| e.entry.clone()).collect();
    let newest: Vec<_> = written.iter().rev().cloned().collect();
    assert_eq!(back, newest);
    assert!(!all[0].entry.detail.as_str().contains("4761739001010010"));

    let count = |query: AuditQuery| {
        let store = store.clone();
        async move { store.audit_entries(&query).await.unwrap().len() }
    };
    let base = || AuditQuery {
        limit: 10,
        ..AuditQuery::default()
    };
    assert_eq!(
        count(AuditQuery {
            target: Some("tx-1".into()),
            ..base()
        })
        .await,
        2
    );
    assert_eq!(
        count(AuditQuery {
            actor: Some("cli:root".into()),
            ..base()
        })
        .await,
        1
    );
    assert_eq!(
        count(AuditQuery {
            action: Some(AuditAction::ForceDisconnect),
            ..base()
        })
        .await,
        1
    );
    assert_eq!(
        count(AuditQuery {
            from: Some(at(2_000)),
            to: Some(at(4_000)),
            ..base()
        })
        .await,
        2
    );
    let page = store
        .audit_entries(&AuditQuery {
            before: Some(seqs[2]),
            limit: 1,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].seq, seqs[1]);
}
