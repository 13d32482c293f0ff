//! Cases: receipts, prompts and reconciliations.

use std::sync::Arc;

use crate::error::Error;
use crate::event::{EventKind, NewEvent};
use crate::ids::{PromptId, ReceiptId, ReconciliationId, TransactionId};
use crate::prompt::{PromptAnswer, PromptState};
use crate::receipt::ReceiptCopy;
use crate::reconciliation::ReconciliationState;
use crate::store::{Created, Store};

use super::fixtures::{
    at, client_id, full_prompt, full_reconciliation, key, poi, prompt, receipt, reconciliation,
    transaction,
};

pub(super) async fn receipts_round_trip(store: Arc<dyn Store>) {
    let sale = transaction(0);
    store
        .create_transaction(&sale, None, &[], &[])
        .await
        .unwrap();
    let batch = reconciliation(0);
    store
        .create_reconciliation(&batch, None, &[])
        .await
        .unwrap();

    let bare = receipt(None);
    let mut merchant_copy = receipt(Some(sale.id));
    merchant_copy.copy = ReceiptCopy::Merchant;
    merchant_copy.created_at = at(3_500);
    let mut customer_copy = receipt(Some(sale.id));
    customer_copy.created_at = at(3_100);
    let mut report = receipt(None);
    report.reconciliation_id = Some(batch.id);
    report.copy = ReceiptCopy::Report;
    report.lines = Vec::new();

    let event = NewEvent {
        merchant_id: Some(customer_copy.merchant_id.clone()),
        at: customer_copy.created_at,
        kind: EventKind::ReceiptAvailable {
            receipt_id: customer_copy.id,
            poi_id: customer_copy.poi_id,
            transaction_id: customer_copy.transaction_id,
            reconciliation_id: None,
            copy: customer_copy.copy,
        },
    };
    let events = store
        .insert_receipt(&customer_copy, std::slice::from_ref(&event), &[])
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, event.kind);
    for r in [&bare, &merchant_copy, &report] {
        assert_eq!(store.insert_receipt(r, &[], &[]).await.unwrap(), vec![]);
    }

    assert_eq!(store.receipt(&bare.id).await.unwrap(), Some(bare.clone()));
    assert_eq!(
        store.receipt(&report.id).await.unwrap(),
        Some(report.clone())
    );
    assert_eq!(store.receipt(&ReceiptId::generate()).await.unwrap(), None);
    assert_eq!(
        store.transaction_receipts(&sale.id).await.unwrap(),
        vec![customer_copy, merchant_copy]
    );
    assert_eq!(
        store.reconciliation_receipts(&batch.id).await.unwrap(),
        vec![report]
    );
    assert_eq!(
        store
            .transaction_receipts(&TransactionId::generate())
            .await
            .unwrap(),
        vec![]
    );
    // A receipt of an unknown transaction is refused, with its events.
    let head = store.latest_event_id().await.unwrap();
    let orphan = receipt(Some(TransactionId::generate()));
    assert!(store.insert_receipt(&orphan, &[event], &[]).await.is_err());
    assert_eq!(store.latest_event_id().await.unwrap(), head);
}

pub(super) async fn prompts_round_trip_and_close_once(store: Arc<dyn Store>) {
    let sale = transaction(0);
    store
        .create_transaction(&sale, None, &[], &[])
        .await
        .unwrap();
    let full = full_prompt(sale.id);
    let first_open = prompt(2_000);
    let mut second_open = prompt(1_000);
    second_open.kind = crate::prompt::PromptKind::Input;
    let mut elsewhere = prompt(500);
    elsewhere.poi_id = poi("002");
    let event = NewEvent {
        merchant_id: Some(full.merchant_id.clone()),
        at: full.created_at,
        kind: EventKind::PromptAvailable {
            prompt_id: full.id,
            poi_id: full.poi_id,
            transaction_id: full.transaction_id,
            prompt_kind: full.kind,
        },
    };
    assert_eq!(store.insert_prompt(&full, &[event]).await.unwrap().len(), 1);
    for p in [&first_open, &second_open, &elsewhere] {
        store.insert_prompt(p, &[]).await.unwrap();
    }
    assert_eq!(store.prompt(&full.id).await.unwrap(), Some(full.clone()));
    assert_eq!(
        store.prompt(&first_open.id).await.unwrap(),
        Some(first_open.clone())
    );
    assert_eq!(store.prompt(&PromptId::generate()).await.unwrap(), None);
    assert_eq!(
        store.open_prompts(&poi("001")).await.unwrap(),
        vec![second_open.clone(), first_open.clone()]
    );

    let answer = PromptAnswer::Confirmation(true);
    let by = client_id("pos-1");
    assert!(
        store
            .close_prompt(
                &second_open.id,
                PromptState::Answered,
                Some(&answer),
                Some(&by),
                at(1_500)
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .close_prompt(
                &second_open.id,
                PromptState::TimedOut,
                None,
                None,
                at(1_600)
            )
            .await
            .unwrap()
    );
    let closed = store.prompt(&second_open.id).await.unwrap().unwrap();
    assert_eq!(closed.state, PromptState::Answered);
    assert_eq!(closed.answer, Some(answer));
    assert_eq!(closed.answered_by, Some(by));
    assert_eq!(closed.updated_at, at(1_500));
    assert!(
        !store
            .close_prompt(&full.id, PromptState::Cancelled, None, None, at(1))
            .await
            .unwrap(),
        "an answered prompt is not open"
    );
    assert!(matches!(
        store
            .close_prompt(&first_open.id, PromptState::Open, None, None, at(1))
            .await,
        Err(Error::InvalidState(_))
    ));
    assert!(
        !store
            .close_prompt(
                &PromptId::generate(),
                PromptState::Cancelled,
                None,
                None,
                at(1)
            )
            .await
            .unwrap()
    );

    // Racing closers: exactly one changes it.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            let id = first_open.id;
            tokio::spawn(async move {
                let answer = PromptAnswer::Text(format!("closer {i}"));
                store
                    .close_prompt(&id, PromptState::Answered, Some(&answer), None, at(3_000))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut closed = 0;
    for task in tasks {
        closed += usize::from(task.await.unwrap());
    }
    assert_eq!(closed, 1);
    assert_eq!(store.open_prompts(&poi("001")).await.unwrap(), vec![]);
    assert_eq!(
        store.open_prompts(&poi("002")).await.unwrap(),
        vec![elsewhere]
    );
}

pub(super) async fn reconciliations_round_trip(store: Arc<dyn Store>) {
    let bare = reconciliation(3_000);
    let full = full_reconciliation();
    let mut running = reconciliation(1_000);
    running.state = ReconciliationState::InProgress;
    let mut lost = reconciliation(500);
    lost.state = ReconciliationState::Unknown;
    let claim = key("pos-1", "recon-1");
    let event = NewEvent {
        merchant_id: Some(full.merchant_id.clone()),
        at: full.updated_at,
        kind: EventKind::ReconciliationCompletion {
            reconciliation_id: full.id,
            poi_id: full.poi_id,
            state: full.state,
        },
    };
    match store
        .create_reconciliation(&full, Some(&claim), &[event])
        .await
        .unwrap()
    {
        Created::Inserted(events) => assert_eq!(events.len(), 1),
        Created::Duplicate(_) => panic!("first create is no duplicate"),
    }
    for r in [&bare, &running, &lost] {
        store.create_reconciliation(r, None, &[]).await.unwrap();
    }
    assert_eq!(
        store.reconciliation(&full.id).await.unwrap(),
        Some(full.clone())
    );
    assert_eq!(
        store.reconciliation(&bare.id).await.unwrap(),
        Some(bare.clone())
    );
    assert_eq!(
        store
            .reconciliation(&ReconciliationId::generate())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.unresolved_reconciliations().await.unwrap(),
        vec![running.clone(), bare.clone()]
    );

    let mut done = bare.clone();
    done.state = ReconciliationState::Failed;
    done.reason = Some("terminal offline".into());
    done.version = 2;
    store.update_reconciliation(&done, &[]).await.unwrap();
    assert_eq!(
        store.reconciliation(&bare.id).await.unwrap(),
        Some(done.clone())
    );
    assert!(matches!(
        store.update_reconciliation(&done, &[]).await,
        Err(Error::Conflict(_))
    ));
    let missing = crate::reconciliation::ReconciliationRecord {
        version: 2,
        ..reconciliation(0)
    };
    assert!(matches!(
        store.update_reconciliation(&missing, &[]).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        store.unresolved_reconciliations().await.unwrap(),
        vec![running]
    );
}
