//! Follow-ups judged against every other follow-up of their original, terminals blocked by an
//! unknown outcome, and critical sections that outlive their caller.

use std::time::Duration;

use super::*;
use crate::durable::{DurableStep, gates};
use crate::ids::TransactionId;

impl Harness {
    fn follow_up(
        &self,
        kind: TransactionKind,
        original: &TransactionRecord,
        value: Option<&str>,
    ) -> TransactionRequest {
        TransactionRequest {
            kind,
            poi_id: None,
            original_id: Some(original.id),
            amount: value.map(|v| Amount::parse(v, Currency::EUR).unwrap()),
            ..self.payment("1.00")
        }
    }

    /// The terminal's next answer is lost and its RepeatLastMessage names a request this EPS
    /// never sent: the transaction stays `unknown`.
    fn lose_next(&self) {
        self.terminal.script.lock().unwrap().last = Some(Ok(LastResult {
            request_id: Some(TerminalRequestId::parse("999").unwrap()),
            request_type: None,
            response: approved(),
        }));
        self.script(Step::Lost);
    }

    async fn resolve(&self, id: &TransactionId, to: TransactionState) -> TransactionRecord {
        let resolution = match to {
            TransactionState::Approved => Resolution::Approved {
                stan: "000999".into(),
                approval_code: None,
            },
            TransactionState::Declined => Resolution::Declined,
            _ => Resolution::Failed,
        };
        self.service
            .resolve(
                id,
                resolution,
                &ClientId::parse("operator").unwrap(),
                "checked",
            )
            .await
            .unwrap()
    }
}

/// The follow-ups a conflict names, with their states.
fn blocking(result: crate::Result<Started>) -> Vec<(TransactionId, TransactionState)> {
    match result {
        Err(Error::FollowUpConflict { blocking, .. }) => {
            blocking.iter().map(|b| (b.id, b.state)).collect()
        }
        other => panic!("expected a follow-up conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn a_second_completion_is_refused_while_the_first_is_unknown() {
    let h = harness().await;
    let mut pre = h.payment("50.00");
    pre.kind = TransactionKind::PreAuthorisation;
    let pre = h.run(pre).await;
    h.lose_next();
    let first = h
        .run(h.follow_up(TransactionKind::Completion, &pre, Some("20.00")))
        .await;
    assert_eq!(first.state, TransactionState::Unknown);
    let second = h
        .service
        .start(h.follow_up(TransactionKind::Completion, &pre, Some("10.00")))
        .await;
    assert_eq!(
        blocking(second),
        vec![(first.id, TransactionState::Unknown)]
    );
    assert_eq!(
        h.operations(),
        2,
        "the second completion never reached the terminal"
    );
}

#[tokio::test]
async fn a_refund_is_refused_while_a_reversal_is_in_flight_or_unknown() {
    let h = harness().await;
    let paid = h.run(h.payment("30.00")).await;
    let release = Arc::new(Notify::new());
    h.script(Step::Hold(release.clone()));
    let reversal = h
        .service
        .start(h.follow_up(TransactionKind::Reversal, &paid, None))
        .await
        .unwrap()
        .transaction;
    assert_eq!(reversal.state, TransactionState::InProgress);
    let mut refund = h.follow_up(TransactionKind::Refund, &paid, Some("5.00"));
    refund.poi_id = Some(h.pump); // the lane is busy with the reversal
    assert_eq!(
        blocking(h.service.start(refund.clone()).await),
        vec![(reversal.id, TransactionState::InProgress)]
    );
    release.notify_one();
    let reversed = h
        .service
        .wait_final(&h.caller.merchant_id, &reversal.id, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(reversed.state, TransactionState::Approved);

    let paid = h.run(h.payment("31.00")).await;
    h.lose_next();
    let lost = h
        .run(h.follow_up(TransactionKind::Reversal, &paid, None))
        .await;
    assert_eq!(lost.state, TransactionState::Unknown);
    refund.original_id = Some(paid.id);
    assert_eq!(
        blocking(h.service.start(refund).await),
        vec![(lost.id, TransactionState::Unknown)]
    );
    assert!(
        h.pump_terminal.script.lock().unwrap().operations.is_empty(),
        "no refund reached the pump's terminal"
    );
}

#[tokio::test]
async fn a_reversal_after_a_partial_refund_is_refused_naming_the_refund() {
    let h = harness().await;
    let paid = h.run(h.payment("100.00")).await;
    let refund = h
        .run(h.follow_up(TransactionKind::Refund, &paid, Some("40.00")))
        .await;
    assert_eq!(refund.state, TransactionState::Approved);
    let original = h.store.transaction(&paid.id).await.unwrap().unwrap();
    assert_eq!(original.state, TransactionState::Approved);
    assert_eq!(original.refunded_amount.unwrap().minor(), 4_000);
    let reversal = h
        .service
        .start(h.follow_up(TransactionKind::Reversal, &paid, None))
        .await;
    let message = match &reversal {
        Err(err) => err.to_string(),
        Ok(_) => String::new(),
    };
    assert_eq!(
        blocking(reversal),
        vec![(refund.id, TransactionState::Approved)]
    );
    assert!(
        message.contains(&refund.id.to_string()) && message.contains("refund"),
        "{message}"
    );
    assert_eq!(h.operations(), 2, "no reversal reached the terminal");
}

#[tokio::test]
async fn concurrent_refunds_on_two_terminals_are_judged_one_after_the_other() {
    let h = Arc::new(harness().await);
    let paid = h.run(h.payment("100.00")).await;
    let on = |poi: PoiId| {
        let mut refund = h.follow_up(TransactionKind::Refund, &paid, Some("60.00"));
        refund.poi_id = Some(poi);
        let h = h.clone();
        tokio::spawn(async move { h.service.start(refund).await })
    };
    let (lane, pump) = (on(h.poi), on(h.pump));
    let results = [lane.await.unwrap(), pump.await.unwrap()];
    let admitted: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(
        admitted.len(),
        1,
        "exactly one refund admitted: {results:?}"
    );
    let refused = results.iter().find(|r| r.is_err()).unwrap();
    assert!(
        matches!(refused, Err(Error::FollowUpConflict { blocking, .. })
            if blocking.len() == 1 && blocking[0].id == admitted[0].transaction.id),
        "{refused:?}"
    );
    let operations = h.operations() + h.pump_terminal.script.lock().unwrap().operations.len();
    assert_eq!(
        operations, 2,
        "the payment and one refund reached a terminal"
    );
}

#[tokio::test]
async fn a_refund_on_another_terminal_goes_without_the_originals_reference() {
    let h = harness().await;
    let paid = h.run(h.payment("20.00")).await;
    let mut elsewhere = h.follow_up(TransactionKind::Refund, &paid, Some("5.00"));
    elsewhere.poi_id = Some(h.pump);
    assert_eq!(h.run(elsewhere).await.state, TransactionState::Approved);
    assert_eq!(
        h.run(h.follow_up(TransactionKind::Refund, &paid, Some("5.00")))
            .await
            .state,
        TransactionState::Approved
    );
    let original_of = |terminal: &ScriptedTerminal| match &terminal
        .script
        .lock()
        .unwrap()
        .operations
        .last()
        .unwrap()
        .operation
    {
        CardOperation::Refund { original, .. } => original.as_ref().map(|o| o.stan.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        original_of(&h.pump_terminal),
        None,
        "the pump's terminal never ran it"
    );
    assert_eq!(
        original_of(&h.terminal),
        Some(Some("000042".to_owned())),
        "its own terminal did"
    );
}

#[tokio::test]
async fn a_terminal_whose_last_transaction_is_unknown_takes_nothing_new() {
    let h = harness().await;
    h.lose_next();
    let lost = h.run(h.payment("7.00")).await;
    assert_eq!(lost.state, TransactionState::Unknown);
    match h.service.start(h.payment("8.00")).await {
        Err(Error::PoiBlocked {
            blocking, state, ..
        }) => {
            assert_eq!((blocking, state), (lost.id, TransactionState::Unknown));
        }
        other => panic!("expected the POI blocked, got {other:?}"),
    }
    let reconciliation = ReconciliationRequest {
        caller: h.caller.clone(),
        poi_id: h.poi,
        closure: true,
        idempotency: None,
    };
    assert!(matches!(
        h.service.start_reconciliation(reconciliation.clone()).await,
        Err(Error::PoiBlocked { blocking, .. }) if blocking == lost.id
    ));
    let mut elsewhere = h.payment("9.00");
    elsewhere.poi_id = Some(h.pump);
    assert_eq!(h.run(elsewhere).await.state, TransactionState::Approved);
    assert_eq!(
        h.operations(),
        1,
        "nothing new reached the blocked terminal"
    );

    h.resolve(&lost.id, TransactionState::Declined).await;
    assert_eq!(
        h.run(h.payment("8.00")).await.state,
        TransactionState::Approved
    );
    assert!(h.service.start_reconciliation(reconciliation).await.is_ok());
}

#[tokio::test]
async fn a_prompt_answer_completes_when_its_caller_goes_away() {
    let h = Arc::new(harness().await);
    let spec = InputSpec {
        command: "GetConfirmation".into(),
        marking: crate::prompt::AnswerSecrecy::Clear,
        min_length: None,
        max_length: None,
        decimals: None,
        timeout_secs: Some(30),
    };
    h.script(Step::Answer {
        outputs: vec![],
        input: Some(spec),
        result: TerminalResult::Success,
    });
    let mut events = h.service.shared.events.subscribe();
    let started = h.service.start(h.payment("3.00")).await.unwrap();
    let prompt = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = events.recv().await.unwrap();
            if let crate::event::EventKind::PromptAvailable { prompt_id, .. } = event.kind {
                return prompt_id;
            }
        }
    })
    .await
    .expect("a prompt within 10 s");
    // The caller is dropped (an HTTP client that disconnects) once the answer is stored.
    let gate = gates::hold(DurableStep::PromptAnswered, prompt);
    let caller = {
        let h = h.clone();
        tokio::spawn(async move {
            h.service
                .answer_prompt(
                    &h.caller.merchant_id,
                    &h.caller.client_id,
                    &prompt,
                    PromptAnswer::Confirmation(true),
                )
                .await
        })
    };
    gate.reached("promptAnswered").await;
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    gate.open();
    let done = h
        .service
        .wait_final(
            &h.caller.merchant_id,
            &started.transaction.id,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(done.state, TransactionState::Approved);
    assert_eq!(
        h.terminal.script.lock().unwrap().answers,
        vec![Some(PromptAnswer::Confirmation(true))],
        "the terminal got the answer"
    );
}

#[tokio::test]
async fn a_resolution_completes_when_its_caller_goes_away() {
    let h = Arc::new(harness().await);
    let paid = h.run(h.payment("4.00")).await;
    h.lose_next();
    let lost = h
        .run(h.follow_up(TransactionKind::Reversal, &paid, None))
        .await;
    assert_eq!(lost.state, TransactionState::Unknown);
    let gate = gates::hold(DurableStep::TransactionResolved, lost.id);
    let caller = {
        let (h, id) = (h.clone(), lost.id);
        tokio::spawn(async move { h.resolve(&id, TransactionState::Approved).await })
    };
    gate.reached("transactionResolved").await;
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    gate.open();
    let reversal = h.store.transaction(&lost.id).await.unwrap().unwrap();
    assert_eq!(reversal.state, TransactionState::Approved);
    let original = h.store.transaction(&paid.id).await.unwrap().unwrap();
    assert_eq!(
        original.state,
        TransactionState::Reversed,
        "settled with it"
    );
    let journal = h.service.journal(&lost.id).await.unwrap();
    assert!(
        journal.iter().any(|j| j.step == "resolution"),
        "{journal:?}"
    );
}

#[tokio::test]
async fn reconciliations_left_unresolved_end_unknown_or_failed_at_start() {
    let h = harness().await;
    let (sent, unsent) = (
        h.service
            .start_reconciliation(ReconciliationRequest {
                caller: h.caller.clone(),
                poi_id: h.poi,
                closure: true,
                idempotency: None,
            })
            .await
            .unwrap()
            .0,
        h.service
            .start_reconciliation(ReconciliationRequest {
                caller: h.caller.clone(),
                poi_id: h.pump,
                closure: false,
                idempotency: None,
            })
            .await
            .unwrap()
            .0,
    );
    for record in [&sent, &unsent] {
        h.service
            .wait_reconciliation(&h.caller.merchant_id, &record.id, Duration::from_secs(10))
            .await
            .unwrap();
    }
    // As a stopped EPS leaves them: one was written to its terminal, the other never left.
    let mut stranded = Vec::new();
    for (record, steps) in [(&sent, &["sending", "sent"][..]), (&unsent, &[][..])] {
        let mut copy = h.store.reconciliation(&record.id).await.unwrap().unwrap();
        copy.id = crate::ids::ReconciliationId::generate();
        copy.state = crate::reconciliation::ReconciliationState::InProgress;
        copy.version = 1;
        h.store
            .create_reconciliation(&copy, None, &[])
            .await
            .unwrap();
        for step in steps {
            h.store
                .append_journal(&h.service.shared.entry(copy.id, step, "as before"))
                .await
                .unwrap();
        }
        stranded.push(copy.id);
    }
    let head = h.store.latest_event_id().await.unwrap();
    h.service.recover_unresolved().await.unwrap();
    let after = |id| {
        let store = h.store.clone();
        async move { store.reconciliation(&id).await.unwrap().unwrap() }
    };
    let was_sent = after(stranded[0]).await;
    assert_eq!(
        was_sent.state,
        crate::reconciliation::ReconciliationState::Unknown
    );
    assert!(was_sent.reason.unwrap().contains("without closure"));
    let never_sent = after(stranded[1]).await;
    assert_eq!(
        never_sent.state,
        crate::reconciliation::ReconciliationState::Failed
    );
    assert_eq!(never_sent.result_code.as_deref(), Some("notSent"));
    let events = h.store.events_after(None, head, 100).await.unwrap();
    let ended: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            crate::event::EventKind::ReconciliationCompletion {
                reconciliation_id, ..
            } => Some(*reconciliation_id),
            _ => None,
        })
        .collect();
    assert_eq!(ended, stranded, "an event for each");
}
