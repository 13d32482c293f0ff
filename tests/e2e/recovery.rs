//! A lost terminal link at each OPI step, and an EPS restarted mid-payment: every transaction
//! ends final and as the terminal's own ledger says, through RepeatLastMessage (and TicketReprint
//! for the receipts), never by a guess and never by a second charge.

use eps_e2e::pos::WAIT;
use eps_e2e::{Backend, SimSite, eur};
use opi_backend::sim::{Scenario, ScriptMatch, SimConfig};
use serde_json::json;

#[tokio::test]
async fn link_loss_at_each_step_ends_as_the_terminal_ledger_says() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let mut pos = site.pos("pos-1", "read write").await;
        // An earlier payment, so "the terminal's last request is an earlier one" can be proved.
        pos.pay(&pos.lane, "1.00").await.ok();
        for (value, step, expected) in [
            ("10.67", "after the request", "unknown"),
            ("10.68", "mid-callbacks", "approved"),
            ("10.66", "before the response", "approved"),
            ("10.91", "a garbage answer", "approved"),
            ("10.92", "an oversize answer", "approved"),
            ("10.54", "PrintLastTicket", "approved"),
        ] {
            let reply = pos.pay(&pos.lane, value).await.ok();
            let t = &reply.body["transaction"];
            assert_eq!(t["state"], expected, "link lost {step}: {t:#}");
            if expected == "unknown" {
                // The terminal's last request is the earlier one, but it may still be working on
                // this one until its hard cap has passed (the default profile's 300 s).
                let reason = t["reason"].as_str().unwrap();
                assert!(reason.contains("may still be working"), "{step}: {reason}");
                site.app.advance(time::Duration::seconds(301));
                // The connection missed its heartbeats meanwhile: connect again.
                pos = eps_e2e::Pos::with_client(pos.client.clone()).await;
                let t = pos.outcome(&reply.transaction_id()).await;
                assert_eq!(t["state"], "failed", "{step}: {t:#}");
                assert_eq!(t["resultCode"], "neverCompleted", "{step}");
                assert!(
                    t["reason"].as_str().unwrap().contains("never completed"),
                    "{step}"
                );
            } else {
                // The terminal's own answer, recovered: its STAN and approval code.
                assert!(t["authorization"]["stan"].is_string(), "{step}: {t:#}");
                let id = reply.transaction_id();
                let receipts = pos.get(&format!("/transactions/{id}/receipts")).await.ok();
                let copies = receipts.body["receipts"].as_array().unwrap().len();
                assert!(copies > 0, "{step}: receipts delivered or reprinted");
            }
        }
        site.assert_agrees_with_ledgers().await;
        // Never a second charge: one ledger entry per payment the terminal processed.
        let payments = site.lane().ledger().entries().len();
        assert_eq!(
            payments, 6,
            "1.00 and the five processed ones; 10.67 never was"
        );
        site.stop().await;
    }
}

#[tokio::test]
async fn a_busy_terminal_during_recovery_is_asked_again_not_guessed() {
    let site = SimSite::start(Backend::Sqlite).await;
    let pos = site.pos("pos-1", "read write").await;
    for _ in 0..3 {
        site.lane().script(
            ScriptMatch::RequestType("RepeatLastMessage".into()),
            Scenario::Busy,
        );
    }
    let reply = pos.pay(&pos.lane, "12.66").await.ok();
    assert_eq!(reply.state(), "approved");
    let id = reply.transaction_id();
    let admin = site.app.client("operator", "admin").await;
    let journal = admin.get(&format!("/admin/transactions/{id}")).await.ok();
    let steps: Vec<String> = journal.body["journal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["step"].as_str().unwrap(),
                e["detail"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        steps.iter().filter(|s| s.contains("still busy")).count() >= 3,
        "{steps:#?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.contains("RepeatLastMessage matched")),
        "{steps:#?}"
    );
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}

#[tokio::test]
async fn an_unprovable_outcome_stays_unknown_until_an_operator_resolves_it() {
    for backend in Backend::all() {
        let site = SimSite::builder(backend)
            .configure(|c| {
                c.payments.recovery_attempts = 2;
                c.payments.recovery_interval_secs = 3600;
            })
            .start()
            .await;
        let pos = site.pos("pos-1", "read write").await;
        let admin = site.app.client("operator", "admin").await;
        // The answer is lost, and so is every RepeatLastMessage answer.
        for _ in 0..2 {
            site.lane().script(
                ScriptMatch::RequestType("RepeatLastMessage".into()),
                Scenario::DropAfterRequest,
            );
        }
        let reply = pos.pay(&pos.lane, "15.66").await.ok();
        assert_eq!(reply.state(), "unknown");
        let reason = reply.body["transaction"]["reason"].as_str().unwrap();
        assert!(reason.contains("recovery will retry"), "{reason}");
        let id = reply.transaction_id();
        // Follow-ups of an unknown transaction are refused.
        pos.post(
            &format!("/transactions/{id}/reversal"),
            &json!({}),
            None,
            None,
        )
        .await
        .failure(409, "ERRCD_INVALID_STATE");

        let path = format!("/admin/transactions/{id}/resolution");
        pos.client
            .request(reqwest::Method::POST, &path)
            .json(&json!({"state": "approved", "note": "x"}))
            .send()
            .await
            .map(|r| assert_eq!(r.status(), 403))
            .unwrap();
        let shown = admin.get(&format!("/admin/transactions/{id}")).await.ok();
        assert_eq!(shown.body["transaction"]["state"], "unknown");
        assert_eq!(shown.body["clientID"], "pos-1");
        let request_id = shown.body["terminalRequestID"].as_str().unwrap().to_owned();
        // The operator reads the terminal's own record of that RequestID.
        let truth = site
            .lane()
            .entry(&request_id)
            .expect("the terminal processed it");
        assert!(truth.approved());
        let resolve = |body: serde_json::Value, key: &'static str| {
            let admin = admin.clone();
            let path = path.clone();
            async move {
                eps_e2e::Reply::read(
                    admin
                        .request(reqwest::Method::POST, &path)
                        .header("idempotency-key", key)
                        .json(&body),
                )
                .await
            }
        };
        resolve(json!({"state": "aborted", "note": "x"}), "r0")
            .await
            .failure(400, "ERRCD_BADREQUEST");
        resolve(json!({"state": "approved", "note": " "}), "r1")
            .await
            .failure(400, "ERRCD_BADREQUEST");
        let stan = truth.stan.clone().unwrap();
        let note = format!("terminal ledger: STAN {stan} approved");
        resolve(json!({"state": "approved", "note": note}), "r1a")
            .await
            .failure(400, "ERRCD_BADREQUEST");
        resolve(
            json!({"state": "declined", "stan": stan, "note": note}),
            "r1b",
        )
        .await
        .failure(400, "ERRCD_BADREQUEST");
        let resolved = resolve(
            json!({"state": "approved", "stan": stan, "approvalCode": truth.approval_code, "note": note}),
            "r2",
        )
        .await
        .ok();
        assert_eq!(
            resolved.body["transaction"]["authorization"]["stan"],
            stan.as_str(),
            "the operator's evidence identifies it to the terminal"
        );
        assert_eq!(resolved.body["transaction"]["state"], "approved");
        assert_eq!(
            resolved.body["transaction"]["resultCode"],
            "resolvedByOperator"
        );
        let journal = resolved.body["journal"].as_array().unwrap();
        let step = journal
            .iter()
            .find(|e| e["step"] == "resolution")
            .expect("journalled");
        assert!(step["detail"].as_str().unwrap().contains(&note));
        assert!(step["detail"].as_str().unwrap().contains("operator"));
        let replay = resolve(
            json!({"state": "approved", "stan": stan, "approvalCode": truth.approval_code, "note": note}),
            "r2",
        )
        .await
        .ok();
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));
        resolve(
            json!({"state": "declined", "note": "changed my mind"}),
            "r3",
        )
        .await
        .failure(409, "ERRCD_INVALID_STATE");
        assert_eq!(
            pos.get(&format!("/transactions/{id}")).await.ok().state(),
            "approved"
        );
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn a_restart_mid_payment_finishes_it_and_keys_survive() {
    for backend in Backend::all() {
        // The terminal takes 3 s before it decides: the restart begins while it works.
        let site = SimSite::builder(backend)
            .sim_config(SimConfig {
                latency: std::time::Duration::from_secs(3),
                ..Default::default()
            })
            .start()
            .await;
        let pos = site.pos("pos-1", "read write").await;
        let body = json!({"poiID": pos.lane, "amount": eur("33.00")});
        let started = pos
            .post("/payments", &body, Some("before-restart"), None)
            .await;
        assert_eq!(started.status, 202, "{started:#?}");
        let id = started.transaction_id();
        // Mid-payment, proved: on the terminal, which has not decided it yet.
        assert_eq!(started.state(), "inProgress");
        let ledger = site.lane().ledger();
        assert!(
            ledger.received().iter().any(|r| r.moves_money()),
            "the payment reached the terminal"
        );
        assert!(
            ledger.entries().is_empty(),
            "the terminal had already decided before the restart began"
        );
        // A graceful stop lets the payment on the terminal finish before the sockets close.
        let site = site.restart().await;
        let token = pos.client.token().to_owned();
        let pos = eps_e2e::Pos::with_client(site.app.client_with_token(&token)).await;
        assert_eq!(pos.outcome(&id).await["state"], "approved");
        let again = pos
            .post("/payments", &body, Some("before-restart"), Some(WAIT))
            .await
            .ok();
        assert_eq!(again.transaction_id(), id, "the key outlived the restart");
        site.assert_agrees_with_ledgers().await;
        assert_eq!(site.lane().ledger().entries().len(), 1);
        site.stop().await;
    }
}

#[tokio::test]
async fn a_reversal_of_an_operator_approved_payment_cancels_that_payment_and_no_other() {
    for backend in Backend::all() {
        let site = SimSite::builder(backend)
            .configure(|c| {
                c.payments.recovery_attempts = 2;
                c.payments.recovery_interval_secs = 3600;
            })
            .start()
            .await;
        let pos = site.pos("pos-1", "read write").await;
        let admin = site.app.client("operator", "admin").await;
        // Payment A's answer is lost and recovery cannot learn it: an operator approves it
        // after reading the terminal's own record.
        for _ in 0..2 {
            site.lane().script(
                ScriptMatch::RequestType("RepeatLastMessage".into()),
                Scenario::DropAfterRequest,
            );
        }
        let lost = pos.pay(&pos.lane, "15.66").await.ok();
        assert_eq!(lost.state(), "unknown");
        let a = lost.transaction_id();
        let stan = site.terminal_record(&a).await.stan;
        eps_e2e::Reply::read(
            admin
                .request(
                    reqwest::Method::POST,
                    &format!("/admin/transactions/{a}/resolution"),
                )
                .json(&json!({"state": "approved", "stan": stan, "note": "terminal ledger: approved"})),
        )
        .await
        .ok();
        // Payment B, approved normally, is now the terminal's last transaction.
        let b = pos.pay(&pos.lane, "7.00").await.ok().transaction_id();
        // Reversing A must cancel A on the terminal, or be refused; never cancel B.
        let reversal = pos
            .post(
                &format!("/transactions/{a}/reversal"),
                &json!({}),
                None,
                Some(WAIT),
            )
            .await;
        let b_record = site
            .transactions()
            .await
            .into_iter()
            .find(|r| r.id.to_string() == b)
            .unwrap();
        let b_entry = site.ledger_entry(&b_record).expect("B was processed");
        assert!(
            !b_entry.reversed,
            "reversing A cancelled B on the terminal (the reversal answered {}: {})",
            reversal.status, reversal.body
        );
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}
