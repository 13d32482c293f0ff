//! Session and health: Login at start and after LoggedOut, retries of non-financial requests
//! only, the observer's veto, several terminals on one callback port, health checks.

use std::time::Duration;

use eps_core::terminal::{
    CardOperation, TerminalOutcome, TerminalRequest, TerminalResult, TerminalStatus,
};
use opi_backend::OpiBackend;
use opi_backend::sim::{Scenario, ScriptMatch, SimConfig};

use crate::rig::{Recorder, Rig, answered, bounded, eur, quiet_profile, sim, terminal_config};

#[tokio::test]
async fn logged_out_payment_is_not_resent_but_the_session_is_reopened() {
    let mut rig = Rig::start().await;
    rig.sim.push(Scenario::LoggedOut);
    let (id, outcome, _) = rig.pay("10.00").await;
    assert_eq!(answered(outcome).result, TerminalResult::LoggedOut);
    assert!(rig.sim.entry(id.as_str()).is_none());
    assert!(rig.sim.is_logged_in(), "the driver logged in again");
    let (_, next, _) = rig.pay("10.00").await;
    assert_eq!(answered(next).result, TerminalResult::Success);
    assert_eq!(
        rig.sim.ledger().entries().len(),
        1,
        "the LoggedOut payment was never resent"
    );
}

#[tokio::test]
async fn logged_out_query_is_retried_once_after_login() {
    let mut rig = Rig::start().await;
    let (paid, _, _) = rig.pay("10.00").await;
    rig.sim.script(
        ScriptMatch::RequestType("RepeatLastMessage".into()),
        Scenario::LoggedOut,
    );
    let last = rig.terminal.last_result(rig.fresh_id()).await.unwrap();
    assert_eq!(last.request_id, Some(paid));
}

#[tokio::test]
async fn observer_veto_means_not_sent() {
    let mut rig = Rig::start().await;
    let (recorder, _) = Recorder::with(Some("journal full".into()), None);
    let (_, outcome) = rig
        .run(
            CardOperation::Payment {
                amount: eur("2.00"),
            },
            recorder,
        )
        .await;
    assert!(
        matches!(outcome, TerminalOutcome::NotSent { reason } if reason.contains("journal full"))
    );
    assert!(rig.sim.ledger().entries().is_empty());
}

#[tokio::test]
async fn two_terminals_share_one_callback_port() {
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let configs = vec![
        terminal_config("lane-a", &a, "11", quiet_profile()),
        terminal_config("lane-b", &b, "12", quiet_profile()),
    ];
    let ids: Vec<_> = configs.iter().map(|c| c.id.clone()).collect();
    let backend = OpiBackend::start(configs).await.unwrap();
    let port = backend.callback_address(&ids[0]).unwrap();
    assert_eq!(Some(port), backend.callback_address(&ids[1]));
    a.set_callback(port.to_string());
    b.set_callback(port.to_string());
    let run = |index: usize, value: &'static str| {
        let terminal = backend.terminal(&ids[index]).unwrap();
        async move {
            let mut status = terminal.status();
            let online = status.wait_for(|s| *s == TerminalStatus::Online);
            bounded("the terminal to be online", online).await.unwrap();
            let (recorder, _) = Recorder::new();
            let request = TerminalRequest {
                request_id: eps_core::ids::TerminalRequestId::parse(&format!("9{index}1")).unwrap(),
                operation: CardOperation::Payment { amount: eur(value) },
            };
            let outcome = terminal.card_operation(request, recorder.clone()).await;
            (answered(outcome), recorder)
        }
    };
    let ((first, first_seen), (second, second_seen)) = tokio::join!(run(0, "1.00"), run(1, "2.00"));
    assert_eq!(
        (first.result, second.result),
        (TerminalResult::Success, TerminalResult::Success)
    );
    assert_eq!(first_seen.receipts().len(), 2);
    assert_eq!(second_seen.receipts().len(), 2);
    assert_eq!(a.ledger().entries().len(), 1);
    assert_eq!(b.ledger().entries().len(), 1);
    backend.shutdown().await;
}

#[tokio::test]
async fn health_checks_feed_the_status() {
    let mut profile = quiet_profile();
    profile.timers.health_check = Duration::from_millis(50);
    profile.timers.connect = Duration::from_millis(500);
    let rig = Rig::with(SimConfig::default(), profile).await;
    let mut status = rig.terminal.status();
    rig.sim.script(
        ScriptMatch::RequestType("Diagnosis".into()),
        Scenario::LoggedOut,
    );
    // The Diagnosis answer LoggedOut makes the driver log in again: the status passes through
    // LoggedOut and comes back Online.
    bounded(
        "the status to be logged out",
        status.wait_for(|s| *s == TerminalStatus::LoggedOut),
    )
    .await
    .unwrap();
    bounded(
        "the status to be online again",
        status.wait_for(|s| *s == TerminalStatus::Online),
    )
    .await
    .unwrap();
    rig.sim.shutdown().await;
    bounded(
        "the status to be offline",
        status.wait_for(|s| *s == TerminalStatus::Offline),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn health_checks_never_make_a_payment_busy() {
    // A Diagnosis right after every request, each taking 30 ms at the terminal: the next
    // payment arrives while it runs, waits for it, and is never refused as busy.
    let mut profile = quiet_profile();
    profile.timers.health_check = Duration::from_millis(1);
    let mut rig = Rig::with(SimConfig::default(), profile).await;
    rig.sim
        .update_config(|c| c.latency = Duration::from_millis(30));
    let mut requests = rig.sim.requests();
    for _ in 0..5 {
        // Wait until the next health check has reached the terminal, then pay.
        let next = *requests.borrow() + 1;
        let reached = requests.wait_for(|n| *n >= next);
        bounded("the next health check at the terminal", reached)
            .await
            .unwrap();
        let (_, outcome, _) = rig.pay("1.00").await;
        assert_eq!(answered(outcome).result, TerminalResult::Success);
    }
    assert_eq!(rig.sim.ledger().entries().len(), 5);
}
