//! What recovery accepts as proof that a terminal never completed a request: an earlier
//! RequestID only once the terminal's hard cap has passed; never a RequestID it cannot read or
//! did not send.

use super::*;

#[tokio::test]
async fn an_earlier_last_request_proves_never_completed_only_past_the_hard_cap() {
    let h = harness().await;
    let first = h.run(h.payment("1.00")).await;
    h.terminal.script.lock().unwrap().last = Some(Ok(LastResult {
        request_id: Some(first.terminal_request_id.clone()),
        request_type: None,
        response: approved(),
    }));
    h.script(Step::Lost);
    // The terminal may still be working on it (it answers with its previous request meanwhile).
    let lost = h.run(h.payment("2.00")).await;
    assert_eq!(lost.state, TransactionState::Unknown);
    assert!(
        lost.reason
            .as_deref()
            .unwrap()
            .contains("may still be working"),
        "{lost:?}"
    );
    h.clock.advance(time::Duration::seconds(299));
    h.service.recover_unresolved().await.unwrap();
    let still = wait_recovered(&h, &lost).await;
    assert_eq!(
        still.state,
        TransactionState::Unknown,
        "the hard cap has not passed"
    );
    h.clock.advance(time::Duration::seconds(1));
    h.service.recover_unresolved().await.unwrap();
    let done = wait_recovered(&h, &lost).await;
    assert_eq!(done.state, TransactionState::Failed);
    assert_eq!(done.result_code.as_deref(), Some("neverCompleted"));
}

#[tokio::test]
async fn a_request_id_that_is_long_unreadable_or_foreign_proves_nothing() {
    let h = harness().await;
    h.run(h.payment("1.00")).await;
    let long = TerminalRequestId::parse(&"4".repeat(50)).unwrap();
    for (reported, why) in [
        (Some(long), "a 50-character RequestID"),
        (None, "no readable RequestID"),
    ] {
        h.terminal.script.lock().unwrap().last = Some(Ok(LastResult {
            request_id: reported,
            request_type: Some("CardPayment".into()),
            response: approved(),
        }));
        h.script(Step::Lost);
        let lost = h.run(h.payment("2.00")).await;
        // Even past the hard cap: not proof.
        h.clock.advance(time::Duration::seconds(301));
        h.service.recover_unresolved().await.unwrap();
        let after = wait_recovered(&h, &lost).await;
        assert_eq!(after.state, TransactionState::Unknown, "{why}: {after:?}");
        h.service
            .resolve(
                &lost.id,
                Resolution::Failed,
                &ClientId::parse("operator").unwrap(),
                "checked",
            )
            .await
            .unwrap();
    }
}

/// Waits until no recovery runs on `record`'s terminal any more and returns the record.
async fn wait_recovered(h: &Harness, record: &TransactionRecord) -> TransactionRecord {
    let workers = &h.service.shared.workers;
    let free = workers.claim(&record.terminal_id, Occupant::Service);
    let claim = tokio::time::timeout(std::time::Duration::from_secs(10), free)
        .await
        .unwrap_or_else(|_| panic!("recovery of {} did not end within 10 s", record.id))
        .unwrap();
    drop(claim);
    h.store.transaction(&record.id).await.unwrap().unwrap()
}
