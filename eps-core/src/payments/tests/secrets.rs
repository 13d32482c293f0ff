//! Secret answers stay out of the records; terminal texts are stored masked; a held dispatch
//! answers `pending` within the bound; the POS's reference is an idempotency key.

use super::*;

/// The next prompt announced in the event log.
async fn next_prompt(
    events: &mut tokio::sync::broadcast::Receiver<Arc<crate::event::EventRecord>>,
) -> crate::ids::PromptId {
    let wait = async {
        loop {
            let event = events.recv().await.unwrap();
            if let crate::event::EventKind::PromptAvailable { prompt_id, .. } = event.kind {
                return prompt_id;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), wait)
        .await
        .expect("a prompt within the bound")
}

#[tokio::test]
async fn a_pin_answer_reaches_the_terminal_but_not_the_records() {
    let h = Arc::new(harness().await);
    let pin = InputSpec {
        command: "GetPIN".into(),
        marking: AnswerSecrecy::Clear,
        min_length: Some(4),
        max_length: Some(12),
        decimals: None,
        timeout_secs: Some(30),
    };
    h.script(Step::Answer {
        outputs: vec![],
        input: Some(pin),
        result: TerminalResult::Success,
    });
    let mut events = h.service.shared.events.subscribe();
    let started = h.service.start(h.payment("3.00")).await.unwrap();
    let prompt_id = next_prompt(&mut events).await;
    let answered = h
        .service
        .answer_prompt(
            &h.caller.merchant_id,
            &h.caller.client_id,
            &prompt_id,
            PromptAnswer::Number("91734655".into()),
        )
        .await
        .unwrap();
    assert_eq!(answered.state, PromptState::Answered);
    assert_eq!(answered.answered_by, Some(h.caller.client_id.clone()));
    assert_eq!(answered.answer, None, "the row keeps no secret answer");
    let done = h
        .service
        .wait_final(
            &h.caller.merchant_id,
            &started.transaction.id,
            std::time::Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(done.state, TransactionState::Approved);
    // The terminal got the value.
    assert_eq!(
        h.terminal.script.lock().unwrap().answers,
        vec![Some(PromptAnswer::Number("91734655".into()))]
    );
    let stored = h.store.prompt(&prompt_id).await.unwrap().unwrap();
    assert_eq!(stored.answer, None);
    let journal = h.service.journal(&started.transaction.id).await.unwrap();
    assert!(
        journal.iter().all(|e| !e.detail.contains("91734655")),
        "{journal:?}"
    );
}

#[tokio::test]
async fn terminal_texts_and_references_are_stored_masked() {
    let h = harness().await;
    let mut request = h.payment("4.00");
    request.reference = Some("receipt 4111 1111 1111 1111".into());
    h.script(Step::Declined("Karte 5500000000000004 gesperrt".into()));
    let mut events = h.service.shared.events.subscribe();
    let done = h.run(request).await;
    assert_eq!(done.state, TransactionState::Declined);
    let stored = h.store.transaction(&done.id).await.unwrap().unwrap();
    assert_eq!(
        stored.reference.as_deref(),
        Some("receipt 411111******1111")
    );
    assert_eq!(
        stored.reason.as_deref(),
        Some("Karte 550000******0004 gesperrt")
    );
    let display = h
        .store
        .prompt(&next_prompt(&mut events).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        display.lines,
        vec![MaskedText::new("Karte 550000******0004 gesperrt")]
    );
}

#[tokio::test]
async fn a_held_dispatch_answers_pending_within_the_bound_and_goes_on() {
    let h = harness().await;
    let release = Arc::new(Notify::new());
    h.script(Step::HoldBeforeSend(release.clone()));
    // A bound on a hang: `start` must answer while the terminal still holds the dispatch.
    let started = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        h.service.start(h.payment("5.00")),
    )
    .await
    .expect("start answers while the terminal holds the dispatch")
    .unwrap();
    assert_eq!(started.transaction.state, TransactionState::Pending);
    assert!(h.service.is_running(&started.transaction.id));
    release.notify_one();
    let done = h
        .service
        .wait_final(
            &h.caller.merchant_id,
            &started.transaction.id,
            std::time::Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(done.state, TransactionState::Approved);
    assert_eq!(h.operations(), 1);
}

#[tokio::test]
async fn a_pos_reference_key_replays_and_refuses_another_body_naming_the_field() {
    let h = harness().await;
    let mut request = h.payment("6.00");
    request.idempotency = Some(IdempotencyRequest {
        key: IdempotencyKey::parse("pos-4711").unwrap(),
        fingerprint: "body-a".into(),
        source: KeySource::PosTransactionId,
    });
    let first = h.run(request.clone()).await;
    let again = h.service.start(request.clone()).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.transaction.id, first.id);
    assert_eq!(h.operations(), 1);
    let mut other = request;
    other.idempotency.as_mut().unwrap().fingerprint = "body-b".into();
    let refused = h.service.start(other).await.unwrap_err();
    assert!(matches!(
        refused,
        Error::IdempotencyMismatch {
            key: KeySource::PosTransactionId
        }
    ));
    assert!(
        refused.to_string().contains("posTransactionID"),
        "{refused}"
    );
}
