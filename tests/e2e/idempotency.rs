//! `Idempotency-Key`: the same key and body give the same answer without a second terminal
//! request, even when the retries arrive together; another body is refused; keys are per client
//! and kept for their time.

use eps_e2e::pos::WAIT;
use eps_e2e::{Backend, PUMP, Pos, SimSite, eur};
use serde_json::json;

#[tokio::test]
async fn concurrent_identical_retries_charge_once() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        let body = json!({"poiID": pos.lane, "amount": eur("25.00"), "reference": "sale 1"});
        let retries: Vec<_> = (0..8)
            .map(|_| {
                let (pos, body) = (pos.clone(), body.clone());
                tokio::spawn(async move {
                    pos.post("/payments", &body, Some("sale-1"), Some(WAIT))
                        .await
                })
            })
            .collect();
        let mut ids = std::collections::BTreeSet::new();
        let mut replayed = 0;
        for retry in retries {
            let reply = retry.await.unwrap().ok();
            assert_eq!(reply.state(), "approved");
            ids.insert(reply.transaction_id());
            replayed += usize::from(reply.header("idempotent-replayed") == Some("true"));
        }
        assert_eq!(ids.len(), 1, "one transaction for one key");
        assert_eq!(replayed, 7, "all but the first are replays");
        let payments: Vec<_> = site
            .lane()
            .ledger()
            .entries()
            .iter()
            .filter(|e| e.request_type == "CardPayment")
            .cloned()
            .collect();
        assert_eq!(payments.len(), 1, "exactly one charge on the terminal");
        assert_eq!(payments[0].amount.map(|a| a.minor()), Some(2500));

        // Formatting is not a new request; another body is.
        let reformatted = json!({"reference": "sale 1", "amount": eur("25.00"), "poiID": pos.lane});
        let again = pos
            .post("/payments", &reformatted, Some("sale-1"), None)
            .await
            .ok();
        assert_eq!(again.transaction_id(), *ids.first().unwrap());
        let other = json!({"poiID": pos.lane, "amount": eur("26.00"), "reference": "sale 1"});
        pos.post("/payments", &other, Some("sale-1"), None)
            .await
            .failure(409, "ERRCD_IDEMPOTENCY_MISMATCH");
        // The same key on another route is another request too.
        pos.post("/refunds", &body, Some("sale-1"), None)
            .await
            .failure(409, "ERRCD_IDEMPOTENCY_MISMATCH");
        // Keys belong to their client.
        let other_pos = site.pos("pos-2", "read write").await;
        let theirs = other_pos
            .post("/payments", &body, Some("sale-1"), Some(WAIT))
            .await
            .ok();
        assert_ne!(theirs.transaction_id(), *ids.first().unwrap());
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn keys_are_kept_for_their_time_then_forgotten() {
    let site = SimSite::start(Backend::Sqlite).await;
    let credentials = site.app.add_client("pos-1", "read write").await;
    // A site system the next day: a fresh token and connection, the same client.
    let next_day = || async {
        let token = site.app.token(&credentials).await;
        Pos::with_client(site.app.client_with_token(&token)).await
    };
    let pos = next_day().await;
    let body = json!({"poiID": pos.lane, "amount": eur("8.00")});
    let first = pos
        .post("/payments", &body, Some("k-ttl"), Some(WAIT))
        .await
        .ok();
    site.app.advance(time::Duration::hours(23));
    let pos = next_day().await;
    let kept = pos
        .post("/payments", &body, Some("k-ttl"), Some(WAIT))
        .await
        .ok();
    assert_eq!(kept.transaction_id(), first.transaction_id());
    assert_eq!(kept.header("idempotent-replayed"), Some("true"));
    site.app.advance(time::Duration::minutes(61));
    let pos = next_day().await;
    let new = pos
        .post("/payments", &body, Some("k-ttl"), Some(WAIT))
        .await
        .ok();
    assert_ne!(
        new.transaction_id(),
        first.transaction_id(),
        "24 h later the key is new"
    );
    assert_eq!(site.lane().ledger().entries().len(), 2);
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}

#[tokio::test]
async fn an_unsent_payment_answers_503_again_for_its_key() {
    for backend in Backend::all() {
        let site = SimSite::builder(backend).unreachable(PUMP).start().await;
        let pos = site.pos("pos-1", "read write").await;
        let body = json!({"poiID": pos.pump, "amount": eur("40.00")});
        let first = pos.post("/payments", &body, Some("pump-1"), None).await;
        let first = first.failure(503, "ERRCD_POI_UNAVAILABLE");
        assert_eq!(first.header("retry-after"), Some("5"));
        assert_eq!(first.state(), "failed");
        assert_eq!(first.body["transaction"]["resultCode"], "unreachable");
        assert!(first.message().contains("nothing was sent"), "{first:#?}");
        let id = first.transaction_id();
        assert_eq!(
            first.header("location"),
            Some(format!("/transactions/{id}").as_str())
        );

        let again = pos
            .post("/payments", &body, Some("pump-1"), Some(WAIT))
            .await
            .failure(503, "ERRCD_POI_UNAVAILABLE");
        assert_eq!(again.transaction_id(), id);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(
            pos.get(&format!("/transactions/{id}")).await.ok().state(),
            "failed"
        );
        // The lane is unaffected.
        assert_eq!(pos.pay(&pos.lane, "40.00").await.ok().state(), "approved");
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}
