//! Whole card numbers where real terminals send them: the simulated terminals run in their
//! full-PAN mode (whole, Luhn-valid numbers in `Authorisation@CardPAN`, on receipt lines and in
//! error texts), and after each path — payments with their receipts and follow-ups, prompts,
//! terminal errors, recovered answers with reprinted receipts — none of those numbers is
//! anywhere the EPS writes: the store (SQLite file bytes with the WAL; PostgreSQL rows as text),
//! the logs (JSON and text, captured in-process at trace level), the event streams (the site's
//! and the operator's SSE), and the API's answers. Each test first checks that the terminal did
//! send the whole numbers and that each source holds the data looked at, so no search is empty
//! by accident.

use std::sync::Arc;

use eps_core::event::{EventKind, EventRecord};
use eps_core::ids::{EventId, MerchantId};
use eps_core::prompt::PromptKind;
use eps_e2e::leaks::{LogCapture, card_number_hits};
use eps_e2e::pos::WAIT;
use eps_e2e::sse::SseStream;
use eps_e2e::{ApiClient, Backend, PUMP, Pos, SimSite, eur};
use opi_backend::sim::{FULL_PANS, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::broadcast::Receiver;

/// A site whose terminals send whole card numbers, with everything the EPS writes recorded.
struct Scene {
    logs: LogCapture,
    site: SimSite,
    pos: Pos,
    admin: ApiClient,
    site_events: SseStream,
    operator_events: SseStream,
    events: Receiver<Arc<EventRecord>>,
    /// Every API answer read on the way.
    answers: Vec<Value>,
}

impl Scene {
    async fn begin(backend: Backend) -> Self {
        // Before the server starts, so its start-up is captured too.
        let logs = LogCapture::start();
        let site = SimSite::builder(backend)
            .sim_config(SimConfig {
                full_pan: true,
                ..SimConfig::default()
            })
            .start()
            .await;
        let pos = site.pos("pos-1", "read write").await;
        let admin = site.app.client("operator", "admin").await;
        let site_events = SseStream::expect(
            pos.request(Method::GET, "/events")
                .header("last-event-id", "0"),
        )
        .await;
        let operator_events = SseStream::expect(
            admin
                .request(Method::GET, "/admin/events")
                .header("last-event-id", "0"),
        )
        .await;
        let events = site.app.state.events.subscribe();
        Self {
            logs,
            site,
            pos,
            admin,
            site_events,
            operator_events,
            events,
            answers: Vec::new(),
        }
    }

    /// Pays `value` at `poi`, keeping the answer.
    async fn pay(&mut self, poi: &str, value: &str) -> Value {
        let reply = self.pos.pay(poi, value).await.ok();
        self.answers.push(reply.body.clone());
        reply.body["transaction"].clone()
    }

    /// `POST path` waiting for the outcome, keeping the answer.
    async fn post(&mut self, path: &str, body: Value) -> Value {
        let reply = self.pos.post(path, &body, None, Some(WAIT)).await.ok();
        self.answers.push(reply.body.clone());
        reply.body
    }

    /// The next prompt of `kind` announced in the event log.
    async fn next_prompt(&mut self, kind: PromptKind) -> String {
        let events = &mut self.events;
        let wait = async {
            loop {
                let event = events.recv().await.expect("event log open");
                if let EventKind::PromptAvailable {
                    prompt_id,
                    prompt_kind,
                    ..
                } = &event.kind
                    && *prompt_kind == kind
                {
                    return prompt_id.to_string();
                }
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(WAIT), wait)
            .await
            .expect("a prompt within the bound")
    }

    /// Reads everything back, checks the terminal sent whole numbers and that no source holds
    /// one, then stops. `expect_in_logs` names a log message the paths must have produced.
    async fn finish(mut self, expect_in_logs: &str) {
        // Every transaction, its receipts and its journal, as the API shows them.
        let listed = self.pos.get("/transactions?limit=100").await.ok();
        let ids: Vec<String> = listed.body["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["transactionID"].as_str().unwrap().to_owned())
            .collect();
        assert!(!ids.is_empty());
        self.answers.push(listed.body);
        for id in &ids {
            for path in [
                format!("/transactions/{id}"),
                format!("/transactions/{id}/receipts"),
            ] {
                self.answers.push(self.pos.get(&path).await.ok().body);
            }
            let journal = self
                .admin
                .get(&format!("/admin/transactions/{id}"))
                .await
                .ok();
            // The OPI trace is written shortly after the frames went: wait for its last frame
            // (the terminal's answer, or the request when recovery found the answer) before the
            // sources are searched.
            let steps: Vec<&str> = journal.body["journal"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e["step"].as_str())
                .collect();
            let answered = ["approved", "declined"].contains(&journal.state());
            let last = if answered && !steps.contains(&"recovery") {
                Some("CardServiceResponse")
            } else if steps.contains(&"sent") {
                Some("CardServiceRequest")
            } else {
                None
            };
            let view = match last {
                Some(message) => crate::opi_trace::wait_for_trace(&self.admin, id, message).await,
                None => journal.body,
            };
            self.answers.push(view);
        }
        let mut sources: Vec<(&str, String)> = Vec::new();
        let answers = serde_json::to_string(&self.answers).unwrap();
        assert!(
            answers.contains("######"),
            "the API shows masked numbers, so it had the card: {answers}"
        );
        assert!(
            answers.contains("traceEntries") && answers.contains("<CardServiceResponse"),
            "the API shows the OPI trace, so the search looks at the XML the terminal sent"
        );
        sources.push(("API answers", answers));

        // The event streams, live from the start, up to the last event of the log.
        let merchant = MerchantId::parse("1234567890").unwrap();
        let log = self
            .site
            .app
            .state
            .events
            .replay(Some(&merchant), EventId::ZERO, 100_000)
            .await
            .unwrap();
        let last = log
            .events
            .last()
            .expect("events were logged")
            .id
            .to_string();
        for (name, stream) in [
            ("site event stream", &mut self.site_events),
            ("operator event stream", &mut self.operator_events),
        ] {
            let mut frames = Vec::new();
            loop {
                let frame = stream.next_event().await;
                let done = frame.id.as_deref() == Some(last.as_str());
                frames.push(json!({"id": frame.id, "event": frame.event, "data": frame.data}));
                if done {
                    break;
                }
            }
            let text = serde_json::to_string(&frames).unwrap();
            assert!(text.contains("receiptAvailableEvent"), "{name}: {text}");
            sources.push((name, text));
        }

        // The store, read while it runs (SQLite: the WAL holds the newest pages).
        let stored = self.site.app.stored_text().await;
        assert!(
            stored.contains("######"),
            "the store holds the masked card numbers, so the search looks at card data"
        );
        sources.push(("store", stored));

        self.site.assert_agrees_with_ledgers().await;
        self.site.stop().await;

        // The logs, start-up to shutdown.
        let (json, text) = (self.logs.json(), self.logs.text());
        assert!(
            json.contains(expect_in_logs) && text.contains(expect_in_logs),
            "the capture holds the server's log ({expect_in_logs:?} missing)"
        );
        sources.push(("JSON log", json));
        sources.push(("text log", text));

        let hits: std::collections::BTreeSet<String> = sources
            .iter()
            .flat_map(|(source, text)| card_number_hits(source, text, &FULL_PANS))
            .collect();
        let hits: Vec<String> = hits.into_iter().collect();
        assert!(
            hits.is_empty(),
            "{} whole card number(s) written down:\n{}",
            hits.len(),
            hits.join("\n\n")
        );
    }
}

/// The lane's terminal did send whole numbers: in CardPAN, on the receipts and (on a decline)
/// in the error text, as its ledger records what it sent.
fn assert_terminal_sent_whole_numbers(site: &SimSite, decline: bool) {
    let ledger = site.lane().ledger();
    let whole = |text: &str| FULL_PANS.iter().any(|pan| text.contains(pan));
    let entries = ledger.entries();
    assert!(
        entries
            .iter()
            .any(|e| e.card_pan_sent().is_some_and(whole)
                && e.receipt_lines().into_iter().any(whole)),
        "CardPAN and receipts: {entries:#?}"
    );
    if decline {
        assert!(
            entries
                .iter()
                .any(|e| e.error_text_sent().is_some_and(whole)),
            "error texts: {entries:#?}"
        );
    }
}

#[tokio::test]
async fn payments_receipts_and_follow_ups_write_down_no_whole_card_number() {
    for backend in Backend::all() {
        let mut scene = Scene::begin(backend).await;
        let lane = scene.pos.lane.clone();
        let paid = scene.pay(&lane, "12.34").await;
        assert_eq!(paid["state"], "approved");
        let id = paid["transactionID"].as_str().unwrap().to_owned();
        let receipts = scene
            .pos
            .get(&format!("/transactions/{id}/receipts"))
            .await
            .ok();
        assert_eq!(receipts.body["receipts"].as_array().unwrap().len(), 2);
        scene
            .post(&format!("/transactions/{id}/reversal"), json!({}))
            .await;
        let paid = scene.pay(&lane, "30.00").await;
        let original = paid["transactionID"].as_str().unwrap().to_owned();
        scene
            .post(
                "/refunds",
                json!({"originalTransactionID": original, "amount": eur("10.00")}),
            )
            .await;
        let authorized = scene
            .post(
                "/authorizations",
                json!({"logicalID": PUMP.1, "workstationType": PUMP.0, "amount": eur("80.00")}),
            )
            .await;
        let reservation = authorized["transaction"]["transactionID"]
            .as_str()
            .unwrap()
            .to_owned();
        scene
            .post(
                &format!("/transactions/{reservation}/completion"),
                json!({"amount": eur("43.20")}),
            )
            .await;
        let reconciled = scene
            .post("/reconciliations", json!({"poiID": lane, "closure": "yes"}))
            .await;
        assert_eq!(reconciled["reconciliation"]["state"], "completed");
        assert_terminal_sent_whole_numbers(&scene.site, false);
        scene.finish("issued a token").await;
    }
}

#[tokio::test]
async fn prompts_write_down_no_whole_card_number() {
    for backend in Backend::all() {
        let mut scene = Scene::begin(backend).await;
        // .13: the terminal asks the cashier to confirm (Input GetConfirmation).
        let lane = scene.pos.lane.clone();
        let id = scene
            .pos
            .start_payment(&lane, "17.13")
            .await
            .transaction_id();
        let display = scene.next_prompt(PromptKind::Display).await;
        let input = scene.next_prompt(PromptKind::Input).await;
        for prompt in [&display, &input] {
            let shown = scene.pos.get(&format!("/prompts/{prompt}")).await.ok();
            scene.answers.push(shown.body);
        }
        let answered = scene
            .pos
            .post(
                &format!("/prompts/{input}/response"),
                &json!({"confirmation": "yes"}),
                None,
                None,
            )
            .await
            .ok();
        scene.answers.push(answered.body);
        assert_eq!(scene.pos.outcome(&id).await["state"], "approved");
        for prompt in [&display, &input] {
            let shown = scene.pos.get(&format!("/prompts/{prompt}")).await.ok();
            scene.answers.push(shown.body);
        }
        assert_terminal_sent_whole_numbers(&scene.site, false);
        scene.finish("prompt answered").await;
    }
}

#[tokio::test]
async fn terminal_errors_write_down_no_whole_card_number() {
    for backend in Backend::all() {
        let mut scene = Scene::begin(backend).await;
        let lane = scene.pos.lane.clone();
        // An approval first (the card on file), then declines whose error text carries the
        // whole number, and an abort.
        scene.pay(&lane, "2.00").await;
        let declined = scene.pay(&lane, "10.05").await;
        assert_eq!(declined["state"], "declined");
        let declined_refund = scene
            .post("/refunds", json!({"poiID": lane, "amount": eur("3.05")}))
            .await;
        assert_eq!(declined_refund["transaction"]["state"], "declined");
        let id = scene
            .pos
            .start_payment(&lane, "9.21")
            .await
            .transaction_id();
        let aborted = scene
            .post(&format!("/transactions/{id}/abort"), json!({}))
            .await;
        assert_eq!(aborted["transaction"]["state"], "aborted");
        assert_terminal_sent_whole_numbers(&scene.site, true);
        scene.finish("abort requested").await;
    }
}

#[tokio::test]
async fn recovered_answers_and_reprinted_receipts_write_down_no_whole_card_number() {
    for backend in Backend::all() {
        let mut scene = Scene::begin(backend).await;
        let lane = scene.pos.lane.clone();
        // .66: the answer is lost and recovered through RepeatLastMessage (whose answer carries
        // CardPAN); .54: the receipts are not delivered and come back through TicketReprint.
        for value in ["10.66", "10.54"] {
            let recovered = scene.pay(&lane, value).await;
            assert_eq!(recovered["state"], "approved", "{value}: {recovered:#}");
        }
        assert_terminal_sent_whole_numbers(&scene.site, false);
        scene.finish("issued a token").await;
    }
}
