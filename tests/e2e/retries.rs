//! Retries that carry no `Idempotency-Key`: the POS's own `posTransactionID` makes a retry safe
//! (one charge, `Idempotent-Replayed`; another body is 409; a header that contradicts it is 400);
//! without either, two identical sales are two sales; and a payment answers 202 `pending` while
//! its terminal still holds the Login, then completes. SQLite and PostgreSQL.

use eps_e2e::pos::WAIT;
use eps_e2e::{Backend, SimSite, eur};
use opi_backend::sim::SimConfig;
use serde_json::json;

/// The simulator's card payments, by amount in minor units.
fn charges(site: &SimSite) -> Vec<i64> {
    site.lane()
        .ledger()
        .entries()
        .iter()
        .filter(|e| e.request_type == "CardPayment")
        .filter_map(|e| e.amount.map(|a| a.minor()))
        .collect()
}

#[tokio::test]
async fn a_pos_transaction_id_makes_a_retry_safe() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        let sale = json!({"poiID": pos.lane, "amount": eur("31.00"),
            "reference": "receipt 4711", "posTransactionID": "lane1-0042"});
        let first = pos.post("/payments", &sale, None, Some(WAIT)).await.ok();
        assert_eq!(first.state(), "approved");
        assert_eq!(first.header("idempotent-replayed"), None);
        // The POS lost the answer and sends the same sale again, without a header.
        let again = pos.post("/payments", &sale, None, None).await.ok();
        assert_eq!(again.transaction_id(), first.transaction_id());
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(charges(&site), [3100], "one charge on the terminal");

        // The same reference with another body is refused, naming the field.
        let other = json!({"poiID": pos.lane, "amount": eur("32.00"),
            "reference": "receipt 4711", "posTransactionID": "lane1-0042"});
        let refused = pos
            .post("/payments", &other, None, None)
            .await
            .failure(409, "ERRCD_IDEMPOTENCY_MISMATCH");
        assert!(
            refused.message().contains("posTransactionID"),
            "{refused:#?}"
        );
        // A refund is another request: it needs its own posTransactionID, even when it shares
        // the sale's receipt reference.
        let refund = json!({"originalTransactionID": first.transaction_id(),
            "amount": eur("31.00"), "reference": "receipt 4711"});
        let mut reused = refund.clone();
        reused["posTransactionID"] = json!("lane1-0042");
        pos.post("/refunds", &reused, None, None)
            .await
            .failure(409, "ERRCD_IDEMPOTENCY_MISMATCH");
        let mut own = refund.clone();
        own["posTransactionID"] = json!("lane1-0043");
        assert_eq!(
            pos.post("/refunds", &own, None, Some(WAIT))
                .await
                .ok()
                .state(),
            "approved"
        );

        // Header and field together: the same value is one key; different values are refused.
        let both = pos
            .post("/payments", &sale, Some("lane1-0042"), None)
            .await
            .ok();
        assert_eq!(both.transaction_id(), first.transaction_id());
        let contradicting = pos
            .post("/payments", &sale, Some("lane1-9999"), None)
            .await
            .failure(400, "ERRCD_BADREQUEST");
        assert!(
            contradicting.message().contains("Idempotency-Key")
                && contradicting.message().contains("posTransactionID"),
            "{contradicting:#?}"
        );
        pos.post(
            "/payments",
            &json!({"poiID": pos.lane, "amount": eur("1.00"), "posTransactionID": ""}),
            None,
            None,
        )
        .await
        .failure(400, "ERRCD_BADREQUEST");
        assert_eq!(charges(&site), [3100], "still one charge");
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn two_identical_sales_without_a_key_are_two_sales() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        let sale = json!({"poiID": pos.lane, "amount": eur("4.50"), "reference": "coffee"});
        let one = pos.post("/payments", &sale, None, Some(WAIT)).await.ok();
        let two = pos.post("/payments", &sale, None, Some(WAIT)).await.ok();
        assert_ne!(one.transaction_id(), two.transaction_id());
        assert_eq!(two.header("idempotent-replayed"), None);
        assert_eq!((one.state(), two.state()), ("approved", "approved"));
        assert_eq!(charges(&site), [450, 450], "two sales, two charges");
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn a_payment_answers_pending_while_the_terminal_holds_its_login() {
    for backend in Backend::all() {
        // Every Login the simulated terminals get is answered only when the test says so: the
        // EPS's first Login at start is still waiting when the payment comes.
        let site = SimSite::builder(backend)
            .sim_config(SimConfig {
                hold_logins: true,
                ..SimConfig::default()
            })
            .start()
            .await;
        let pos = site.pos("pos-1", "read write").await;
        let sale = json!({"poiID": pos.lane, "amount": eur("12.00"),
            "posTransactionID": "lane1-0100"});
        // A bound on a hang: the answer must come while the Login is still held.
        let accepted = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            pos.post("/payments", &sale, None, None),
        )
        .await
        .expect("POST /payments answers while the terminal holds its Login");
        assert_eq!(accepted.status, 202, "{accepted:#?}");
        assert_eq!(accepted.state(), "pending");
        assert!(
            accepted.message().contains("not yet on the terminal"),
            "{accepted:#?}"
        );
        let id = accepted.transaction_id();
        assert_eq!(
            accepted.header("location"),
            Some(format!("/transactions/{id}").as_str())
        );
        assert!(!site.lane().is_logged_in(), "the Login is still held");
        assert!(site.lane().ledger().entries().is_empty());
        // A retry meanwhile is the same transaction, answered within the same bound.
        let retry = pos.post("/payments", &sale, None, None).await;
        assert_eq!(retry.status, 202, "{retry:#?}");
        assert_eq!(retry.transaction_id(), id);
        assert_eq!(retry.header("idempotent-replayed"), Some("true"));
        assert_eq!(
            pos.get(&format!("/transactions/{id}")).await.ok().state(),
            "pending"
        );

        assert_eq!(site.lane().release_logins(), 1);
        site.pump().release_logins();
        assert_eq!(pos.outcome(&id).await["state"], "approved");
        assert_eq!(charges(&site), [1200]);
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}
