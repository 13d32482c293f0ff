//! Completions, reversals and refunds of one original are judged against every other follow-up
//! of it: none can move more money than the original allows, whatever else is running, unknown
//! or approved, and on whichever POI it is asked.

use eps_e2e::pos::WAIT;
use eps_e2e::{Backend, Pos, Reply, SimSite, eur};
use opi_backend::sim::{Scenario, ScriptMatch};
use serde_json::{Value, json};

/// `POST path` with `body`, waiting for the outcome.
async fn post(pos: &Pos, path: &str, body: Value) -> Reply {
    pos.post(path, &body, None, Some(WAIT)).await
}

/// Asserts a 409 `ERRCD_FOLLOW_UP_CONFLICT` naming `blocking` (in `blockingTransactionID` and
/// in the message).
#[track_caller]
fn refused_for(reply: Reply, blocking: &str) {
    let reply = reply.failure(409, "ERRCD_FOLLOW_UP_CONFLICT");
    assert_eq!(reply.body["blockingTransactionID"], blocking, "{reply:#?}");
    assert!(reply.message().contains(blocking), "{reply:#?}");
}

/// The request types the simulator at `sim` recorded, oldest first.
fn recorded(sim: &opi_backend::sim::SimServer) -> Vec<String> {
    sim.ledger()
        .entries()
        .iter()
        .map(|e| e.request_type.clone())
        .collect()
}

#[tokio::test]
async fn a_reversal_after_a_partial_refund_is_refused_naming_the_refund() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        let paid = pos.pay(&pos.lane, "100.00").await.ok().transaction_id();
        let refund = post(
            &pos,
            "/refunds",
            json!({"poiID": pos.lane, "originalTransactionID": paid, "amount": eur("40.00")}),
        )
        .await
        .ok();
        assert_eq!(refund.state(), "approved");
        let reversal = post(&pos, &format!("/transactions/{paid}/reversal"), json!({})).await;
        let message = reversal.message().to_owned();
        refused_for(reversal, &refund.transaction_id());
        assert!(message.contains("refund"), "{message}");
        assert_eq!(
            recorded(site.lane()),
            ["CardPayment", "PaymentRefund"],
            "no reversal reached the terminal"
        );
        let original = pos.get(&format!("/transactions/{paid}")).await.ok();
        assert_eq!(
            original.state(),
            "approved",
            "partially refunded: {original:#?}"
        );
        assert_eq!(original.body["transaction"]["refundedAmount"], eur("40.00"));
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn a_second_completion_while_the_first_is_unknown_is_refused() {
    for backend in Backend::all() {
        let site = SimSite::builder(backend)
            .configure(|c| c.payments.recovery_attempts = 2)
            .start()
            .await;
        let pos = site.pos("pos-1", "read write").await;
        let reserved = post(
            &pos,
            "/authorizations",
            json!({"poiID": pos.pump, "amount": eur("80.00")}),
        )
        .await
        .ok()
        .transaction_id();
        // The first completion's answer is lost and so is every RepeatLastMessage answer.
        site.pump()
            .script(ScriptMatch::Financial, Scenario::DropBeforeResponse);
        for _ in 0..1000 {
            site.pump().script(
                ScriptMatch::RequestType("RepeatLastMessage".into()),
                Scenario::DropAfterRequest,
            );
        }
        let completion = format!("/transactions/{reserved}/completion");
        let first = post(&pos, &completion, json!({"amount": eur("42.00")}))
            .await
            .ok();
        assert_eq!(first.state(), "unknown", "{first:#?}");
        let second = post(&pos, &completion, json!({"amount": eur("10.00")})).await;
        refused_for(second, &first.transaction_id());
        assert_eq!(
            recorded(site.pump()),
            ["CardPreAuthorisation", "CardFinancialAdvice"],
            "the second completion never reached the terminal"
        );
        // Recovery learns the first completion's outcome once the terminal answers again.
        site.pump().clear_script();
        let settled = pos.outcome(&first.transaction_id()).await;
        assert_eq!(settled["state"], "approved", "{settled:#}");
        let reserved = pos.get(&format!("/transactions/{reserved}")).await.ok();
        assert_eq!(reserved.state(), "completed");
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn a_refund_while_a_reversal_is_in_flight_or_unknown_is_refused() {
    for backend in Backend::all() {
        let site = SimSite::builder(backend)
            .configure(|c| c.payments.recovery_attempts = 2)
            .start()
            .await;
        let pos = site.pos("pos-1", "read write").await;
        let admin = site.app.client("operator", "admin").await;
        let refund_of = |original: &str| json!({"poiID": pos.pump, "originalTransactionID": original, "amount": eur("5.00")});

        // In flight: the terminal waits for a card for the reversal.
        let paid = pos.pay(&pos.lane, "30.00").await.ok().transaction_id();
        site.lane().script(
            ScriptMatch::RequestType("PaymentReversal".into()),
            Scenario::WaitForAbort,
        );
        let running = pos
            .post(
                &format!("/transactions/{paid}/reversal"),
                &json!({}),
                None,
                None,
            )
            .await;
        assert_eq!(running.status, 202, "{running:#?}");
        assert_eq!(running.state(), "inProgress");
        refused_for(
            post(&pos, "/refunds", refund_of(&paid)).await,
            &running.transaction_id(),
        );
        let reversal = running.transaction_id();
        let aborted = pos
            .post(
                &format!("/transactions/{reversal}/abort"),
                &json!({}),
                None,
                Some(WAIT),
            )
            .await
            .ok();
        assert_eq!(aborted.state(), "aborted");

        // Unknown: the reversal's answer and every RepeatLastMessage answer are lost.
        let paid = pos.pay(&pos.lane, "31.00").await.ok().transaction_id();
        site.lane()
            .script(ScriptMatch::Financial, Scenario::DropBeforeResponse);
        for _ in 0..1000 {
            site.lane().script(
                ScriptMatch::RequestType("RepeatLastMessage".into()),
                Scenario::DropAfterRequest,
            );
        }
        let lost = post(&pos, &format!("/transactions/{paid}/reversal"), json!({}))
            .await
            .ok();
        assert_eq!(lost.state(), "unknown", "{lost:#?}");
        refused_for(
            post(&pos, "/refunds", refund_of(&paid)).await,
            &lost.transaction_id(),
        );
        assert!(
            recorded(site.pump()).is_empty(),
            "no refund reached the pump's terminal"
        );
        // The terminal approved the reversal; an operator who checked says so.
        site.lane().clear_script();
        let path = format!("/admin/transactions/{}/resolution", lost.transaction_id());
        let stan = site.terminal_record(&lost.transaction_id()).await.stan;
        let resolved = Reply::read(admin.request(reqwest::Method::POST, &path).json(
            &json!({"state": "approved", "stan": stan, "note": "terminal ledger: approved"}),
        ))
        .await;
        // Recovery may have found it first; either way the original ends reversed.
        if resolved.status != 200 {
            assert_eq!(
                pos.outcome(&lost.transaction_id()).await["state"],
                "approved"
            );
        }
        let original = pos.get(&format!("/transactions/{paid}")).await.ok();
        assert_eq!(original.state(), "reversed");
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn two_concurrent_refunds_over_the_limit_on_two_lanes_exactly_one_is_approved() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        let paid = pos.pay(&pos.lane, "100.00").await.ok().transaction_id();
        let refund = |poi: &str| {
            let body = json!({"poiID": poi, "originalTransactionID": paid, "amount": eur("60.00")});
            let pos = pos.clone();
            async move { post(&pos, "/refunds", body).await }
        };
        let (lane, pump) = tokio::join!(refund(&pos.lane), refund(&pos.pump));
        let (approved, refused) = match (lane.status, pump.status) {
            (200, 409) => (lane, pump),
            (409, 200) => (pump, lane),
            other => panic!("exactly one refund goes through: {other:?} {lane:#?} {pump:#?}"),
        };
        assert_eq!(approved.state(), "approved", "{approved:#?}");
        refused_for(refused, &approved.transaction_id());
        let refunds: usize = [site.lane(), site.pump()]
            .iter()
            .map(|sim| {
                recorded(sim)
                    .iter()
                    .filter(|t| t.as_str() == "PaymentRefund")
                    .count()
            })
            .sum();
        assert_eq!(refunds, 1, "the terminals refunded once in total");
        let original = pos.get(&format!("/transactions/{paid}")).await.ok();
        assert_eq!(original.body["transaction"]["refundedAmount"], eur("60.00"));
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}
