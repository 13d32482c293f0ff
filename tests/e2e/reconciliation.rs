//! End of day through the API: the totals the EPS reports are the simulated terminal's own.

use eps_core::money::Currency;
use eps_e2e::pos::WAIT;
use eps_e2e::{Backend, PUMP, SimSite, eur};
use serde_json::json;

#[tokio::test]
async fn reconciliation_totals_equal_the_terminal_ledger() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        for value in ["10.00", "2.50", "7.05", "100.00"] {
            pos.pay(&pos.lane, value).await.ok();
        }
        let reversed = pos.pay(&pos.lane, "99.99").await.ok().transaction_id();
        pos.post(
            &format!("/transactions/{reversed}/reversal"),
            &json!({}),
            None,
            Some(WAIT),
        )
        .await
        .ok();
        pos.post(
            "/refunds",
            &json!({"poiID": pos.lane, "amount": eur("4.00")}),
            None,
            Some(WAIT),
        )
        .await
        .ok();
        let truth = site.lane().ledger().open_totals(Currency::EUR);
        assert!(!truth.is_empty());

        let started = pos
            .post(
                "/reconciliations",
                &json!({"poiID": pos.lane, "closure": "yes"}),
                Some("eod-1"),
                Some(WAIT),
            )
            .await
            .ok();
        let reconciliation = &started.body["reconciliation"];
        let id = reconciliation["reconciliationID"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            started.header("location"),
            Some(format!("/reconciliations/{id}").as_str())
        );
        assert_eq!(reconciliation["state"], "completed");
        assert_eq!(reconciliation["closure"], "yes");
        let mut reported: Vec<(String, String, u64, String)> = reconciliation["totals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["cardCircuit"].as_str().unwrap_or_default().to_owned(),
                    t["paymentType"].as_str().unwrap_or_default().to_owned(),
                    t["count"].as_u64().unwrap(),
                    t["amount"]["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let mut expected: Vec<(String, String, u64, String)> = truth
            .iter()
            .map(|t| {
                (
                    t.card_circuit.clone(),
                    t.payment_type.to_owned(),
                    u64::from(t.count),
                    t.amount.value_text(),
                )
            })
            .collect();
        reported.sort();
        expected.sort();
        assert_eq!(reported, expected);
        // 10.00 + 2.50 + 100.00 approved payments (7.05 declined, 99.99 reversed).
        let debit: i64 = truth
            .iter()
            .filter(|t| t.payment_type == "Debit")
            .map(|t| t.amount.minor())
            .sum();
        assert_eq!(debit, 11_250);

        let receipts = reconciliation["receiptIDs"].as_array().unwrap();
        assert!(!receipts.is_empty(), "the terminal printed a report");
        let report = pos
            .get(&format!("/receipts/{}", receipts[0].as_str().unwrap()))
            .await
            .ok();
        assert_eq!(report.body["receipt"]["copy"], "report");
        assert_eq!(report.body["receipt"]["reconciliationID"], id.as_str());

        let shown = pos.get(&format!("/reconciliations/{id}")).await.ok();
        assert_eq!(&shown.body["reconciliation"], reconciliation);
        let replay = pos
            .post(
                "/reconciliations",
                &json!({"poiID": pos.lane, "closure": "yes"}),
                Some("eod-1"),
                None,
            )
            .await
            .ok();
        assert_eq!(
            replay.body["reconciliation"]["reconciliationID"],
            id.as_str()
        );
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));

        // The batch is closed: the next reconciliation starts from nothing.
        let next = pos
            .post(
                "/reconciliations",
                &json!({"logicalID": "001", "workstationType": "pointOfService"}),
                None,
                None,
            )
            .await;
        assert_eq!(next.status, 202, "{next:#?}");
        let next_id = next.body["reconciliation"]["reconciliationID"]
            .as_str()
            .unwrap();
        let next = pos
            .get_waiting(&format!("/reconciliations/{next_id}"))
            .await
            .ok();
        assert_eq!(next.body["reconciliation"]["state"], "completed");
        assert_eq!(next.body["reconciliation"]["totals"], json!([]));
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn an_unreachable_terminal_is_not_reconciled() {
    let site = SimSite::builder(Backend::Sqlite)
        .unreachable(PUMP)
        .start()
        .await;
    let pos = site.pos("pos-1", "read write").await;
    let reply = pos
        .post(
            "/reconciliations",
            &json!({"poiID": pos.pump}),
            None,
            Some(WAIT),
        )
        .await
        .failure(503, "ERRCD_POI_UNAVAILABLE");
    assert_eq!(reply.header("retry-after"), Some("5"));
    assert_eq!(reply.body["reconciliation"]["state"], "failed");
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}
