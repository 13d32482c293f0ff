//! No secret at rest where it does not belong: a PIN answered through the API reaches the
//! simulated terminal and nothing else (not the database, not the prompt, not the event stream,
//! not the journal); card numbers in terminal texts, display lines and references are kept
//! masked. SQLite and PostgreSQL. (The log side runs the binary: `eps-api/tests/binary/secrets.rs`.)

use std::sync::Arc;

use eps_core::event::{EventKind, EventRecord};
use eps_core::prompt::PromptKind;
use eps_e2e::at_rest::{assert_not_stored, stored_text};
use eps_e2e::pos::WAIT;
use eps_e2e::sse::SseStream;
use eps_e2e::{Backend, SimSite, eur};
use opi_backend::sim::SimConfig;
use reqwest::Method;
use serde_json::json;
use tokio::sync::broadcast::Receiver;

/// The PIN of these tests: eight digits, so it cannot turn up in a UUID or a timestamp by chance.
const PIN: &str = "91734655";

/// The next prompt of `kind` announced in the event log.
async fn next_prompt(events: &mut Receiver<Arc<EventRecord>>, kind: PromptKind) -> String {
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

#[tokio::test]
async fn a_pin_answer_reaches_the_terminal_and_nothing_else() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        let admin = site.app.client("operator", "admin").await;
        let mut events = site.app.state.events.subscribe();
        // .14: the simulated terminal asks for a PIN (Input GetPIN, the entry hidden).
        let id = pos.start_payment(&pos.lane, "17.14").await.transaction_id();
        let input = next_prompt(&mut events, PromptKind::Input).await;
        let open = pos.get(&format!("/prompts/{input}")).await.ok();
        assert_eq!(open.body["prompt"]["input"]["command"], "GetPIN");
        assert_eq!(open.body["prompt"]["input"]["secret"], "yes");

        let path = format!("/prompts/{input}/response");
        let answered = pos
            .post(&path, &json!({"number": PIN}), Some("pin-1"), None)
            .await
            .ok();
        let prompt = &answered.body["prompt"];
        assert_eq!(prompt["state"], "answered");
        assert_eq!(prompt["answeredBy"], "pos-1");
        assert!(prompt["answer"].is_null(), "{prompt:#?}");
        // A retry with the same key gets the first answer, whatever it carries: the answer is
        // not fingerprinted, so nothing derived from it is kept either.
        let retry = pos
            .post(&path, &json!({"number": "0000"}), Some("pin-1"), None)
            .await
            .ok();
        assert_eq!(retry.header("idempotent-replayed"), Some("true"));
        assert_eq!(retry.body["prompt"], answered.body["prompt"]);

        assert_eq!(pos.outcome(&id).await["state"], "approved");
        // The terminal got the PIN, exactly once.
        assert_eq!(site.lane().pins(), [PIN]);

        let shown = pos.get(&format!("/prompts/{input}")).await.ok();
        assert!(!shown.body.to_string().contains(PIN));
        let journal = admin.get(&format!("/admin/transactions/{id}")).await.ok();
        assert!(!journal.body["journal"].to_string().is_empty());
        assert!(!journal.body.to_string().contains(PIN));
        let mut stream = SseStream::expect(
            pos.request(Method::GET, "/events")
                .header("last-event-id", "0"),
        )
        .await;
        let mut streamed = String::new();
        loop {
            let frame = stream.next_event().await;
            streamed.push_str(&frame.data.to_string());
            if frame.event == "transactionUpdatedEvent"
                && frame.data["transactionID"] == id.as_str()
                && frame.data["state"] == "approved"
            {
                break;
            }
        }
        assert!(streamed.contains(&input), "the stream announced the prompt");
        assert!(!streamed.contains(PIN), "the PIN reached the event stream");
        // The OPI trace shows the answer that went to the terminal as `****` (and is in the
        // store before it is searched).
        let traced = crate::opi_trace::wait_for_trace(&admin, &id, "CardServiceResponse").await;
        let entries = traced["traceEntries"].as_array().unwrap();
        let answer = entries
            .iter()
            .find(|e| e["message"] == "DeviceResponse" && e["requestType"] == "Input")
            .unwrap_or_else(|| panic!("the Input answer in the trace: {entries:#?}"));
        assert!(
            answer["xml"].as_str().unwrap().contains("****"),
            "{answer:#?}"
        );
        assert!(
            !traced.to_string().contains(PIN),
            "the PIN reached the OPI trace"
        );
        assert_not_stored(&site.app, PIN).await;
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn card_numbers_in_terminal_texts_and_references_are_kept_masked() {
    // Neither number passes the Luhn check: masked all the same.
    let display = "Karte 4111 1111 1111 1112 lesen";
    let error = "Karte 5500-0000-0000-0005 gesperrt";
    let reference = "Beleg 6759649826438453180";
    for backend in Backend::all() {
        let site = SimSite::builder(backend)
            .sim_config(SimConfig {
                display_text: Some(display.to_owned()),
                error_text: Some(error.to_owned()),
                ..SimConfig::default()
            })
            .start()
            .await;
        let pos = site.pos("pos-1", "read write").await;
        let mut events = site.app.state.events.subscribe();
        // .05: declined, with the terminal's error text.
        let declined = pos
            .post(
                "/payments",
                &json!({"poiID": pos.lane, "amount": eur("9.05"), "reference": reference}),
                None,
                Some(WAIT),
            )
            .await
            .ok();
        let transaction = &declined.body["transaction"];
        assert_eq!(transaction["state"], "declined");
        assert_eq!(transaction["reason"], "Karte 550000******0005 gesperrt");
        assert_eq!(transaction["reference"], "Beleg 675964*********3180");
        let shown = next_prompt(&mut events, PromptKind::Display).await;
        let prompt = pos.get(&format!("/prompts/{shown}")).await.ok();
        assert_eq!(
            prompt.body["prompt"]["lines"],
            json!(["Karte 411111******1112 lesen"])
        );
        let stored = stored_text(&site.app).await;
        assert!(
            stored.contains("550000******0005"),
            "the masked text is kept"
        );
        for digits in [
            "4111 1111 1111 1112",
            "4111111111111112",
            "5500-0000-0000-0005",
            "5500000000000005",
            "6759649826438453180",
        ] {
            assert!(
                !stored.contains(digits),
                "{digits} is stored at rest ({})",
                site.app.backend.name()
            );
        }
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}
