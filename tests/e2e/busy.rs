//! One card operation per terminal: a second request gets 409 `ERRCD_POI_BUSY` with
//! `Retry-After` and the running transaction; other POIs carry on; an abort ends the first.

use eps_e2e::pos::WAIT;
use eps_e2e::{Backend, SimSite, eur};
use serde_json::json;

#[tokio::test]
async fn a_busy_terminal_refuses_a_second_operation_until_the_first_is_aborted() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        // .21: the simulated terminal waits for a card until aborted.
        let first = pos.start_payment(&pos.lane, "9.21").await;
        assert_eq!(first.status, 202, "{first:#?}");
        let first_id = first.transaction_id();

        let busy = pos
            .post(
                "/payments",
                &json!({"poiID": pos.lane, "amount": eur("1.00")}),
                Some("second"),
                None,
            )
            .await
            .failure(409, "ERRCD_POI_BUSY");
        assert_eq!(busy.header("retry-after"), Some("1"));
        assert_eq!(busy.body["activeTransactionID"], first_id.as_str());
        assert!(busy.message().contains(&first_id), "{busy:#?}");
        pos.post("/reconciliations", &json!({"poiID": pos.lane}), None, None)
            .await
            .failure(409, "ERRCD_POI_BUSY");
        // The fuelling point is another terminal.
        assert_eq!(pos.pay(&pos.pump, "30.00").await.ok().state(), "approved");

        let aborted = pos
            .post(
                &format!("/transactions/{first_id}/abort"),
                &json!({}),
                Some("abort-1"),
                Some(WAIT),
            )
            .await
            .ok();
        assert_eq!(aborted.transaction_id(), first_id);
        assert_eq!(aborted.state(), "aborted");
        assert!(aborted.body["transaction"]["reason"].is_string());
        let replay = pos
            .post(
                &format!("/transactions/{first_id}/abort"),
                &json!({}),
                Some("abort-1"),
                Some(WAIT),
            )
            .await
            .ok();
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));
        assert_eq!(replay.body, aborted.body, "the first answer, recorded");
        pos.post(
            &format!("/transactions/{first_id}/abort"),
            &json!({"note": "another body"}),
            Some("abort-1"),
            None,
        )
        .await
        .failure(409, "ERRCD_IDEMPOTENCY_MISMATCH");
        assert_abort_on_its_own_connection(&site, &first_id).await;
        let late = pos
            .post(
                &format!("/transactions/{first_id}/abort"),
                &json!({}),
                None,
                None,
            )
            .await
            .failure(409, "ERRCD_INVALID_STATE");
        assert!(late.message().contains("aborted"), "{late:#?}");

        // The key of the refused payment was not used up: retried now, it goes through.
        let second = pos
            .post(
                "/payments",
                &json!({"poiID": pos.lane, "amount": eur("1.00")}),
                Some("second"),
                Some(WAIT),
            )
            .await
            .ok();
        assert_eq!(second.state(), "approved");
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn an_abort_without_waiting_answers_at_once_and_the_outcome_follows() {
    let site = SimSite::start(Backend::Sqlite).await;
    let pos = site.pos("pos-1", "read write").await;
    let id = pos.start_payment(&pos.lane, "5.21").await.transaction_id();
    let asked = pos
        .post(&format!("/transactions/{id}/abort"), &json!({}), None, None)
        .await;
    // The terminal acknowledged the abort; whether the payment has ended by the time the answer
    // is written decides between 202 (still running: follow the Location) and 200 (ended).
    match asked.status {
        202 => {
            assert_eq!(asked.state(), "inProgress", "{asked:#?}");
            let location = format!("/transactions/{id}");
            assert_eq!(asked.header("location"), Some(location.as_str()));
        }
        200 => assert_eq!(asked.state(), "aborted", "{asked:#?}"),
        _ => panic!("{asked:#?}"),
    }
    assert_eq!(pos.outcome(&id).await["state"], "aborted");
    assert_abort_on_its_own_connection(&site, &id).await;
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}

/// The terminal received exactly one AbortRequest, on a channel-0 connection of its own (the
/// default profile's placement), not on the payment's.
async fn assert_abort_on_its_own_connection(site: &SimSite, id: &str) {
    let record = site
        .transactions()
        .await
        .into_iter()
        .find(|r| r.id.to_string() == id)
        .expect("the payment");
    let ledger = site.lane().ledger();
    let payment = ledger
        .received()
        .iter()
        .find(|r| r.request_id == record.terminal_request_id.as_str())
        .expect("the payment reached the terminal");
    let aborts: Vec<_> = ledger.received().iter().filter(|r| r.is_abort()).collect();
    assert_eq!(aborts.len(), 1, "{:?}", ledger.received());
    assert_ne!(
        aborts[0].link, payment.link,
        "the abort used the payment's connection"
    );
}
