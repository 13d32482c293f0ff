//! Transactions whose outcome is unknown: the terminal takes nothing new until they are settled,
//! and recovery never calls them "never completed" while the terminal may still be working on
//! them.

use eps_e2e::pos::WAIT;
use eps_e2e::{Backend, Reply, SimSite};
use opi_backend::sim::{Scenario, ScriptMatch};
use serde_json::json;

#[tokio::test]
async fn a_new_request_on_a_terminal_whose_last_transaction_is_unknown_is_refused() {
    for backend in Backend::all() {
        let site = SimSite::builder(backend)
            .configure(|c| c.payments.recovery_attempts = 2)
            .start()
            .await;
        let pos = site.pos("pos-1", "read write").await;
        let admin = site.app.client("operator", "admin").await;
        for _ in 0..1000 {
            site.lane().script(
                ScriptMatch::RequestType("RepeatLastMessage".into()),
                Scenario::DropAfterRequest,
            );
        }
        let lost = pos.pay(&pos.lane, "12.66").await.ok();
        assert_eq!(lost.state(), "unknown", "{lost:#?}");
        let blocking = lost.transaction_id();

        let refused = pos.pay(&pos.lane, "13.00").await;
        let refused = refused.failure(409, "ERRCD_POI_BLOCKED");
        assert_eq!(refused.body["blockingTransactionID"], blocking.as_str());
        assert!(refused.message().contains(&blocking), "{refused:#?}");
        let reconciliation = json!({"poiID": pos.lane, "closure": "yes"});
        let refused = pos
            .post("/reconciliations", &reconciliation, None, None)
            .await
            .failure(409, "ERRCD_POI_BLOCKED");
        assert_eq!(refused.body["blockingTransactionID"], blocking.as_str());
        // Another POI's terminal is not affected.
        assert_eq!(pos.pay(&pos.pump, "14.00").await.ok().state(), "approved");
        assert_eq!(
            site.lane().ledger().entries().len(),
            1,
            "nothing new reached the blocked terminal"
        );

        // An operator who checked the terminal's ledger settles it; the terminal takes work again.
        site.lane().clear_script();
        let path = format!("/admin/transactions/{blocking}/resolution");
        let stan = site.terminal_record(&blocking).await.stan;
        let resolved = Reply::read(admin.request(reqwest::Method::POST, &path).json(
            &json!({"state": "approved", "stan": stan, "note": "terminal ledger: approved"}),
        ))
        .await;
        if resolved.status != 200 {
            // Recovery asked the terminal again first.
            assert_eq!(pos.outcome(&blocking).await["state"], "approved");
        }
        assert_eq!(pos.pay(&pos.lane, "13.00").await.ok().state(), "approved");
        pos.post("/reconciliations", &reconciliation, None, Some(WAIT))
            .await
            .ok();
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn a_terminal_still_working_after_the_link_drops_is_never_taken_for_failed() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        // An earlier payment, so the terminal has a previous request to repeat.
        pos.pay(&pos.lane, "1.00").await.ok();
        // The terminal drops the link on reading the next payment, keeps working on it for three
        // seconds (approving it), and meanwhile answers RepeatLastMessage with the 1.00 payment.
        site.lane()
            .update_config(|c| c.latency = std::time::Duration::from_secs(3));
        site.lane()
            .script(ScriptMatch::Financial, Scenario::DropAndKeepWorking);
        let reply = pos.pay(&pos.lane, "25.00").await.ok();
        let t = &reply.body["transaction"];
        assert_ne!(t["state"], "failed", "{t:#}");
        let id = reply.transaction_id();
        let outcome = pos.outcome(&id).await;
        assert_eq!(
            outcome["state"], "approved",
            "the terminal's truth: {outcome:#}"
        );
        let entry = site
            .lane()
            .entry(outcome_request_id(&site, &id).await.as_str())
            .expect("the terminal processed it");
        assert!(entry.approved());
        assert_eq!(
            outcome["authorization"]["stan"].as_str(),
            entry.stan.as_deref()
        );
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

/// The OPI RequestID the EPS used for a transaction.
async fn outcome_request_id(site: &SimSite, id: &str) -> String {
    site.transactions()
        .await
        .into_iter()
        .find(|t| t.id.to_string() == id)
        .expect("stored")
        .terminal_request_id
        .to_string()
}
