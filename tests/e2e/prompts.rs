//! Device callbacks through the API: display output and Input commands become prompts; an
//! Input is answered through `POST /prompts/{promptID}/response`, or gets the configured default
//! when nobody answers in time.

use std::sync::Arc;

use eps_core::event::{EventKind, EventRecord};
use eps_core::prompt::PromptKind;
use eps_e2e::pos::WAIT;
use eps_e2e::{Backend, SimSite};
use opi_backend::sim::SimConfig;
use serde_json::json;
use tokio::sync::broadcast::Receiver;

/// The next prompt of `kind` announced in the event log (what `promptAvailableEvent` carries).
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
async fn an_input_prompt_is_answered_through_the_api() {
    for backend in Backend::all() {
        let site = SimSite::start(backend).await;
        let pos = site.pos("pos-1", "read write").await;
        let mut events = site.app.state.events.subscribe();
        // .13: the simulated terminal asks the cashier to confirm (Input GetConfirmation).
        let id = pos.start_payment(&pos.lane, "17.13").await.transaction_id();

        let display = next_prompt(&mut events, PromptKind::Display).await;
        let shown = pos.get(&format!("/prompts/{display}")).await.ok();
        assert_eq!(shown.body["prompt"]["type"], "display");
        assert_eq!(shown.body["prompt"]["state"], "displayed");
        assert!(!shown.body["prompt"]["lines"].as_array().unwrap().is_empty());
        pos.post(
            &format!("/prompts/{display}/response"),
            &json!({"anyKey": "yes"}),
            None,
            None,
        )
        .await
        .failure(409, "ERRCD_INVALID_STATE");

        let input = next_prompt(&mut events, PromptKind::Input).await;
        let open = pos.get(&format!("/prompts/{input}")).await.ok();
        let prompt = &open.body["prompt"];
        assert_eq!(prompt["type"], "input");
        assert_eq!(prompt["state"], "open");
        assert_eq!(prompt["transactionID"], id.as_str());
        assert_eq!(prompt["poiID"], pos.lane.as_str());
        assert_eq!(prompt["input"]["command"], "GetConfirmation");
        assert!(prompt["expiresAt"].is_string());

        let path = format!("/prompts/{input}/response");
        pos.post(&path, &json!({"text": "yes"}), None, None)
            .await
            .failure(409, "ERRCD_INVALID_STATE");
        pos.post(
            &path,
            &json!({"confirmation": "yes", "text": "yes"}),
            None,
            None,
        )
        .await
        .failure(400, "ERRCD_BADREQUEST");
        site.pos("reader", "read")
            .await
            .post(&path, &json!({"confirmation": "yes"}), None, None)
            .await
            .failure(403, "ERRCD_INSUFFICIENT_SCOPE");
        let answered = pos
            .post(
                &path,
                &json!({"confirmation": "yes"}),
                Some("answer-1"),
                None,
            )
            .await
            .ok();
        assert_eq!(answered.body["prompt"]["state"], "answered");
        assert_eq!(
            answered.body["prompt"]["answer"],
            json!({"confirmation": "yes"})
        );
        assert_eq!(answered.body["prompt"]["answeredBy"], "pos-1");
        let replay = pos
            .post(
                &path,
                &json!({"confirmation": "yes"}),
                Some("answer-1"),
                None,
            )
            .await
            .ok();
        assert_eq!(replay.body, answered.body);
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));
        pos.post(
            &path,
            &json!({"confirmation": "no"}),
            Some("answer-1"),
            None,
        )
        .await
        .failure(409, "ERRCD_IDEMPOTENCY_MISMATCH");
        pos.post(&path, &json!({"confirmation": "no"}), None, None)
            .await
            .failure(409, "ERRCD_INVALID_STATE");

        assert_eq!(pos.outcome(&id).await["state"], "approved");
        site.assert_agrees_with_ledgers().await;
        site.stop().await;
    }
}

#[tokio::test]
async fn a_no_answers_the_terminal_and_it_aborts() {
    let site = SimSite::start(Backend::Sqlite).await;
    let pos = site.pos("pos-1", "read write").await;
    let mut events = site.app.state.events.subscribe();
    let id = pos.start_payment(&pos.lane, "3.13").await.transaction_id();
    let input = next_prompt(&mut events, PromptKind::Input).await;
    pos.post(
        &format!("/prompts/{input}/response"),
        &json!({"confirmation": "no"}),
        None,
        None,
    )
    .await
    .ok();
    assert_eq!(pos.outcome(&id).await["state"], "aborted");
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}

#[tokio::test]
async fn an_unanswered_input_gets_the_default_when_the_terminal_stops_waiting() {
    // The EPS stops waiting after 1 s (its cap) while the terminal would wait 30 s.
    let site = SimSite::builder(Backend::Sqlite)
        .configure(|c| c.payments.input_timeout_cap_secs = 1)
        .start()
        .await;
    let pos = site.pos("pos-1", "read write").await;
    let mut events = site.app.state.events.subscribe();
    let id = pos.start_payment(&pos.lane, "4.13").await.transaction_id();
    let input = next_prompt(&mut events, PromptKind::Input).await;
    // The profile's default confirmation is "no": the terminal aborts.
    assert_eq!(pos.outcome(&id).await["state"], "aborted");
    let prompt = pos.get(&format!("/prompts/{input}")).await.ok();
    assert_eq!(prompt.body["prompt"]["state"], "timedOut");
    pos.post(
        &format!("/prompts/{input}/response"),
        &json!({"confirmation": "yes"}),
        None,
        None,
    )
    .await
    .failure(409, "ERRCD_INVALID_STATE");
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}

#[tokio::test]
async fn a_question_the_terminal_withdraws_is_cancelled() {
    // The terminal gives up after 1 s, before the EPS would.
    let site = SimSite::builder(Backend::Sqlite)
        .sim_config(SimConfig {
            input_timeout: std::time::Duration::from_secs(1),
            ..Default::default()
        })
        .start()
        .await;
    let pos = site.pos("pos-1", "read write").await;
    let mut events = site.app.state.events.subscribe();
    let id = pos.start_payment(&pos.lane, "4.13").await.transaction_id();
    let input = next_prompt(&mut events, PromptKind::Input).await;
    assert_eq!(pos.outcome(&id).await["state"], "aborted");
    // Closed before the outcome was saved.
    let prompt = pos.get(&format!("/prompts/{input}")).await.ok();
    assert_eq!(prompt.body["prompt"]["state"], "cancelled");
    site.assert_agrees_with_ledgers().await;
    site.stop().await;
}
