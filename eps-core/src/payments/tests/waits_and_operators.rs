//! Request ids under a clock that stands still, waiting for outcomes, operator resolutions,
//! concurrent reconciliation retries.

use super::*;

#[tokio::test]
async fn request_ids_differ_even_when_the_clock_stands_still() {
    let h = harness().await;
    let ids: std::collections::HashSet<_> =
        (0..500).map(|_| h.service.shared.request_id()).collect();
    assert_eq!(ids.len(), 500);
    // Short enough never to look like a card number to the journal's redaction.
    for id in &ids {
        assert!(id.as_str().len() <= 12, "{id}");
        assert_eq!(crate::redact::mask_pans(id.as_str()), id.as_str());
    }
}

#[tokio::test]
async fn wait_resolved_follows_the_log_and_is_running_ends_with_the_operation() {
    let h = harness().await;
    let release = Arc::new(Notify::new());
    h.script(Step::Hold(release.clone()));
    let first = h
        .service
        .start(h.payment("1.00"))
        .await
        .unwrap()
        .transaction;
    assert!(h.service.is_running(&first.id));
    let short = h
        .service
        .wait_resolved(
            &h.caller.merchant_id,
            &first.id,
            std::time::Duration::from_millis(20),
        )
        .await
        .unwrap();
    assert_eq!(
        short.state,
        TransactionState::InProgress,
        "the deadline ends the wait"
    );
    let waiter = {
        let (service, merchant, id) = (h.service.clone(), h.caller.merchant_id.clone(), first.id);
        tokio::spawn(async move {
            service
                .wait_resolved(&merchant, &id, std::time::Duration::from_secs(10))
                .await
        })
    };
    release.notify_one();
    assert_eq!(
        waiter.await.unwrap().unwrap().state,
        TransactionState::Approved
    );
    let done = h
        .service
        .wait_final(
            &h.caller.merchant_id,
            &first.id,
            std::time::Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(done.state, TransactionState::Approved);
    assert!(!h.service.is_running(&first.id));
    let other = MerchantId::parse("elsewhere").unwrap();
    assert!(matches!(
        h.service
            .wait_resolved(&other, &first.id, std::time::Duration::from_millis(1))
            .await,
        Err(Error::UnknownTransaction)
    ));
}

#[tokio::test]
async fn operators_resolve_only_unknown_transactions() {
    let h = harness().await;
    let operator = ClientId::parse("operator").unwrap();
    h.terminal.script.lock().unwrap().last = Some(Ok(LastResult {
        request_id: Some(TerminalRequestId::parse("999").unwrap()),
        request_type: None,
        response: approved(),
    }));
    h.script(Step::Lost);
    let lost = h.run(h.payment("7.00")).await;
    assert_eq!(lost.state, TransactionState::Unknown);
    assert!(!h.service.is_running(&lost.id), "recovery ended");

    let refused = h
        .service
        .resolve(
            &lost.id,
            Resolution::Approved {
                stan: " ".into(),
                approval_code: None,
            },
            &operator,
            "an approval without the terminal's trace number",
        )
        .await;
    assert!(
        matches!(refused, Err(Error::InvalidState(_))),
        "{refused:?}"
    );
    let resolved = h
        .service
        .resolve(
            &lost.id,
            Resolution::Declined,
            &operator,
            "terminal journal shows 05",
        )
        .await
        .unwrap();
    assert_eq!(resolved.state, TransactionState::Declined);
    assert_eq!(resolved.result_code.as_deref(), Some(RESOLVED_BY_OPERATOR));
    let journal = h.service.journal(&lost.id).await.unwrap();
    let step = journal.iter().find(|j| j.step == "resolution").unwrap();
    assert!(step.detail.contains("operator") && step.detail.contains("terminal journal shows 05"));
    let again = h
        .service
        .resolve(
            &lost.id,
            Resolution::Approved {
                stan: "000123".into(),
                approval_code: None,
            },
            &operator,
            "changed my mind",
        )
        .await;
    assert!(
        matches!(again, Err(Error::InvalidState(_))),
        "final states stay final"
    );
}

#[tokio::test]
async fn an_operator_approval_of_a_reversal_settles_its_original() {
    let h = harness().await;
    let operator = ClientId::parse("operator").unwrap();
    let paid = h.run(h.payment("4.00")).await;
    h.terminal.script.lock().unwrap().last = Some(Ok(LastResult {
        request_id: Some(TerminalRequestId::parse("999").unwrap()),
        request_type: None,
        response: approved(),
    }));
    h.script(Step::Lost);
    let mut reversal = h.payment("4.00");
    reversal.kind = TransactionKind::Reversal;
    reversal.original_id = Some(paid.id);
    reversal.poi_id = None;
    let lost = h.run(reversal).await;
    assert_eq!(lost.state, TransactionState::Unknown);
    h.service
        .resolve(
            &lost.id,
            Resolution::Approved {
                stan: "000042".into(),
                approval_code: Some("A1".into()),
            },
            &operator,
            "reversed at the terminal",
        )
        .await
        .unwrap();
    let resolved = h.store.transaction(&lost.id).await.unwrap().unwrap();
    let evidence = resolved
        .authorisation
        .expect("the operator's evidence is kept");
    assert_eq!(evidence.stan.as_deref(), Some("000042"));
    assert_eq!(evidence.approval_code.as_deref(), Some("A1"));
    let original = h.store.transaction(&paid.id).await.unwrap().unwrap();
    assert_eq!(original.state, TransactionState::Reversed);
}

#[tokio::test]
async fn concurrent_reconciliation_retries_with_one_key_get_one_reconciliation() {
    let h = Arc::new(harness().await);
    let request = ReconciliationRequest {
        caller: h.caller.clone(),
        poi_id: h.poi,
        closure: false,
        idempotency: Some(IdempotencyRequest {
            key: IdempotencyKey::parse("eod-1").unwrap(),
            fingerprint: "fp".into(),
            source: crate::idempotency::KeySource::Header,
        }),
    };
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (h, request) = (h.clone(), request.clone());
            tokio::spawn(async move { h.service.start_reconciliation(request).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let (record, _) = task
            .await
            .unwrap()
            .expect("every retry gets the first answer");
        ids.insert(record.id);
    }
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn a_key_is_kept_for_its_time_and_then_forgotten() {
    let h = harness().await;
    let mut request = h.payment("6.00");
    request.idempotency = Some(IdempotencyRequest {
        key: IdempotencyKey::parse("k-ttl").unwrap(),
        fingerprint: "fp".into(),
        source: crate::idempotency::KeySource::Header,
    });
    let first = h.service.start(request.clone()).await.unwrap();
    h.service
        .wait_final(
            &h.caller.merchant_id,
            &first.transaction.id,
            std::time::Duration::from_secs(10),
        )
        .await
        .unwrap();
    h.clock.advance(time::Duration::hours(23));
    let again = h.service.start(request.clone()).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.transaction.id, first.transaction.id);
    h.clock.advance(time::Duration::hours(2));
    let later = h.service.start(request).await.unwrap();
    assert!(!later.replayed, "24 h later the key is new");
    assert_ne!(later.transaction.id, first.transaction.id);
}
