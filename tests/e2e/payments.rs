//! Payments through the API on simulated terminals: the happy path of each kind, receipts, the
//! default 202 + Location, and the terminal's own ledger as the truth.

use eps_e2e::pos::WAIT;
use eps_e2e::{Backend, PUMP, SimSite, eur};
use serde_json::json;

#[tokio::test]
async fn a_payment_is_approved_with_its_receipts_and_matches_the_ledger() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;

        let paid = pos.pay(&pos.lane, "12.34").await.ok();
        assert_eq!(paid.header("preference-applied"), Some("wait=60"));
        let id = paid.transaction_id();
        assert_eq!(
            paid.header("location"),
            Some(format!("/transactions/{id}").as_str())
        );
        let t = &paid.body["transaction"];
        assert_eq!(t["type"], "payment");
        assert_eq!(t["state"], "approved");
        assert_eq!(t["poiID"], pos.lane.as_str());
        assert_eq!(t["amount"], eur("12.34"));
        assert_eq!(t["resultCode"], "Success");
        let auth = &t["authorization"];
        let pan = auth["maskedPAN"].as_str().expect("masked PAN");
        assert!(pan.contains('#') || pan.contains('*'), "{pan}");
        assert!(
            auth["approvalCode"].is_string() && auth["stan"].is_string(),
            "{auth}"
        );

        let record = site
            .transactions()
            .await
            .into_iter()
            .find(|r| r.id.to_string() == id)
            .unwrap();
        let entry = site
            .ledger_entry(&record)
            .expect("the terminal processed it");
        assert!(entry.approved());
        assert_eq!(auth["stan"].as_str(), entry.stan.as_deref());
        assert_eq!(
            auth["approvalCode"].as_str(),
            entry.approval_code.as_deref()
        );
        assert_eq!(entry.amount.map(|a| a.minor()), Some(1234));

        let receipts = pos.get(&format!("/transactions/{id}/receipts")).await.ok();
        let receipts = receipts.body["receipts"].as_array().unwrap().clone();
        let copies: Vec<_> = receipts
            .iter()
            .map(|r| r["copy"].as_str().unwrap())
            .collect();
        assert!(
            copies.contains(&"customer") && copies.contains(&"merchant"),
            "{copies:?}"
        );
        let one = &receipts[0];
        let fetched = pos
            .get(&format!("/receipts/{}", one["receiptID"].as_str().unwrap()))
            .await
            .ok();
        assert_eq!(&fetched.body["receipt"], one);
        assert_eq!(one["transactionID"], id.as_str());
        assert!(!one["lines"].as_array().unwrap().is_empty());

        let shown = pos.get(&format!("/transactions/{id}")).await.ok();
        assert_eq!(shown.body["transaction"], paid.body["transaction"]);

        // Every step is journalled, durable first, and no card number is ever whole.
        let admin = site.app.client("operator", "admin").await;
        let journal = admin.get(&format!("/admin/transactions/{id}")).await.ok();
        let steps: Vec<&str> = journal.body["journal"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["step"].as_str().unwrap())
            .collect();
        let at = |step: &str| {
            steps
                .iter()
                .position(|s| *s == step)
                .unwrap_or_else(|| panic!("{step} in {steps:?}"))
        };
        assert!(
            at("created") < at("sending")
                && at("sending") < at("sent")
                && at("sent") < at("response")
        );
        assert!(steps.contains(&"receipt"), "{steps:?}");
        assert_eq!(
            journal.body["terminalRequestID"],
            record.terminal_request_id.as_str()
        );
        let everything = format!("{} {}", journal.body, serde_json::Value::Array(receipts));
        assert!(
            !has_full_pan(&everything),
            "a full card number leaked: {everything}"
        );
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

/// True when `text` holds a run of 13 to 19 digits (a card number's length).
fn has_full_pan(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|run| (13..=19).contains(&run.len()))
}

#[tokio::test]
async fn without_prefer_the_answer_is_202_once_on_the_terminal() {
    let site = SimSite::builder(Backend::Sqlite)
        .sim_config(opi_backend::sim::SimConfig {
            latency: std::time::Duration::from_millis(300),
            ..Default::default()
        })
        .start()
        .await;
    let pos = site.pos("pos-1", "read write").await;
    let started = pos.start_payment(&pos.lane, "5.00").await;
    assert_eq!(started.status, 202, "{started:#?}");
    assert_eq!(started.state(), "inProgress");
    assert_eq!(started.body["statusReturn"]["result"], "success");
    assert_eq!(started.body["statusReturn"]["error"], "ERRCD_OK");
    assert_eq!(started.header("preference-applied"), None);
    let location = started.header("location").unwrap().to_owned();
    let done = pos.get_waiting(&location).await.ok();
    assert_eq!(done.state(), "approved");
    assert_eq!(
        done.header("preference-applied"),
        Some(format!("wait={WAIT}").as_str())
    );
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}

#[tokio::test]
async fn declines_and_terminal_refusals_end_as_the_terminal_said() {
    let site = SimSite::start(Backend::Sqlite).await;
    let pos = site.pos("pos-1", "read write").await;
    let declined = pos.pay(&pos.lane, "10.05").await.ok();
    assert_eq!(declined.state(), "declined");
    assert_eq!(declined.body["transaction"]["resultCode"], "Failure/05");
    assert!(declined.body["transaction"]["reason"].is_string());
    for (value, code) in [
        ("10.51", "Busy"),
        ("10.52", "DeviceUnavailable"),
        ("10.53", "LoggedOut"),
    ] {
        let refused = pos.pay(&pos.lane, value).await.ok();
        assert_eq!(refused.state(), "failed", "{value}");
        assert_eq!(refused.body["transaction"]["resultCode"], code);
    }
    // The terminal logs in again after LoggedOut: the next payment goes through.
    assert_eq!(pos.pay(&pos.lane, "10.00").await.ok().state(), "approved");
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}

#[tokio::test]
async fn a_fuelling_authorization_is_completed_with_the_final_amount() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("fcc", "read write").await;
        let authorized = pos
            .post(
                "/authorizations",
                &json!({"logicalID": PUMP.1, "workstationType": PUMP.0, "amount": eur("100.00")}),
                None,
                Some(WAIT),
            )
            .await
            .ok();
        assert_eq!(authorized.body["transaction"]["type"], "authorization");
        assert_eq!(authorized.state(), "approved");
        assert_eq!(authorized.body["transaction"]["poiID"], pos.pump.as_str());
        let auth_id = authorized.transaction_id();

        let over = pos
            .post(
                &format!("/transactions/{auth_id}/completion"),
                &json!({"amount": eur("100.01")}),
                None,
                Some(WAIT),
            )
            .await
            .failure(409, "ERRCD_INVALID_STATE");
        assert!(
            over.message().contains("exceeds the authorised amount"),
            "{over:#?}"
        );
        let other_currency = pos
            .post(
                &format!("/transactions/{auth_id}/completion"),
                &json!({"amount": {"value": "10.00", "currency": "USD"}}),
                None,
                Some(WAIT),
            )
            .await
            .failure(400, "ERRCD_INVALID_AMOUNT");
        assert!(
            other_currency.message().contains("amount.currency"),
            "{other_currency:#?}"
        );
        let wrong_poi = pos
            .post(
                &format!("/transactions/{auth_id}/completion"),
                &json!({"poiID": pos.lane, "amount": eur("10.00")}),
                None,
                Some(WAIT),
            )
            .await
            .failure(409, "ERRCD_INVALID_STATE");
        assert!(wrong_poi.message().contains("poiID"), "{wrong_poi:#?}");

        let completed = pos
            .post(
                &format!("/transactions/{auth_id}/completion"),
                &json!({"amount": eur("43.20")}),
                Some("complete-1"),
                Some(WAIT),
            )
            .await
            .ok();
        assert_eq!(completed.body["transaction"]["type"], "completion");
        assert_eq!(completed.state(), "approved");
        assert_eq!(
            completed.body["transaction"]["originalTransactionID"],
            auth_id.as_str()
        );
        assert_eq!(completed.body["transaction"]["amount"], eur("43.20"));
        let original = pos.get(&format!("/transactions/{auth_id}")).await.ok();
        assert_eq!(original.state(), "completed");
        // Completed at most once: the refusal names the completion.
        let again = pos
            .post(
                &format!("/transactions/{auth_id}/completion"),
                &json!({"amount": eur("1.00")}),
                None,
                Some(WAIT),
            )
            .await
            .failure(409, "ERRCD_FOLLOW_UP_CONFLICT");
        assert_eq!(
            again.body["blockingTransactionID"],
            completed.body["transaction"]["transactionID"]
        );
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn reversals_and_refunds_settle_their_originals() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        let paid = pos.pay(&pos.lane, "20.00").await.ok().transaction_id();
        let reversed = pos
            .post(
                &format!("/transactions/{paid}/reversal"),
                &json!({}),
                None,
                Some(WAIT),
            )
            .await
            .ok();
        assert_eq!(reversed.body["transaction"]["type"], "reversal");
        assert_eq!(reversed.state(), "approved");
        assert_eq!(reversed.body["transaction"]["amount"], eur("20.00"));
        assert_eq!(
            pos.get(&format!("/transactions/{paid}")).await.ok().state(),
            "reversed"
        );
        // Reversed once: the refusal names the reversal.
        let again = pos
            .post(
                &format!("/transactions/{paid}/reversal"),
                &json!({}),
                None,
                Some(WAIT),
            )
            .await
            .failure(409, "ERRCD_FOLLOW_UP_CONFLICT");
        assert_eq!(
            again.body["blockingTransactionID"],
            reversed.body["transaction"]["transactionID"]
        );

        let paid = pos.pay(&pos.lane, "30.00").await.ok().transaction_id();
        pos.post(
            &format!("/transactions/{paid}/reversal"),
            &json!({"amount": eur("10.00")}),
            None,
            Some(WAIT),
        )
        .await
        .failure(409, "ERRCD_INVALID_STATE");
        let refund = |value: &str| json!({"originalTransactionID": paid, "amount": eur(value)});
        let first = pos
            .post("/refunds", &refund("10.00"), None, Some(WAIT))
            .await
            .ok();
        assert_eq!(first.body["transaction"]["type"], "refund");
        assert_eq!(first.state(), "approved");
        assert_eq!(first.body["transaction"]["poiID"], pos.lane.as_str());
        assert_eq!(
            pos.get(&format!("/transactions/{paid}")).await.ok().state(),
            "approved"
        );
        let too_much = pos
            .post("/refunds", &refund("20.01"), None, Some(WAIT))
            .await
            .failure(409, "ERRCD_FOLLOW_UP_CONFLICT");
        assert!(too_much.message().contains("exceed"), "{too_much:#?}");
        assert_eq!(
            too_much.body["blockingTransactionID"],
            first.body["transaction"]["transactionID"]
        );
        pos.post("/refunds", &refund("20.00"), None, Some(WAIT))
            .await
            .ok();
        assert_eq!(
            pos.get(&format!("/transactions/{paid}")).await.ok().state(),
            "refunded"
        );

        let standalone = pos
            .post(
                "/refunds",
                &json!({"poiID": pos.pump, "amount": eur("3.50")}),
                None,
                Some(WAIT),
            )
            .await
            .ok();
        assert_eq!(standalone.state(), "approved");
        assert!(standalone.body["transaction"]["originalTransactionID"].is_null());
        pos.post(
            "/refunds",
            &json!({"amount": eur("3.50")}),
            None,
            Some(WAIT),
        )
        .await
        .failure(400, "ERRCD_BADREQUEST");
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}
