//! A lost link at each step ends in `Lost` (never a guessed decline), and RepeatLastMessage then
//! returns the simulator's truth.

use eps_core::terminal::{TerminalError, TerminalOutcome, TerminalResult};
use opi_backend::sim::Scenario;

use crate::rig::{Rig, answered};

#[tokio::test]
async fn loss_after_the_request_recovers_as_not_processed() {
    let mut rig = Rig::start().await;
    let (earlier, ok, _) = rig.pay("5.00").await;
    assert_eq!(answered(ok).result, TerminalResult::Success);
    rig.sim.push(Scenario::DropAfterRequest);
    let (lost, outcome, recorder) = rig.pay("6.00").await;
    assert!(
        matches!(outcome, TerminalOutcome::Lost { .. }),
        "{outcome:?}"
    );
    assert!(recorder.heard().contains(&crate::rig::Heard::Sent));
    assert!(
        rig.sim.entry(lost.as_str()).is_none(),
        "the terminal never processed it"
    );
    let last = rig.terminal.last_result(rig.fresh_id()).await.unwrap();
    assert_eq!(
        last.request_id,
        Some(earlier),
        "the terminal's last request is the earlier one"
    );
}

#[tokio::test]
async fn loss_mid_callbacks_and_before_the_response_recover_the_truth() {
    for scenario in [
        Scenario::DropMidCallbacks,
        Scenario::DropBeforeResponse,
        Scenario::Garbage,
        Scenario::Oversize,
    ] {
        let mut rig = Rig::start().await;
        rig.sim.push(scenario);
        let (lost, outcome, _) = rig.pay("44.00").await;
        assert!(
            matches!(outcome, TerminalOutcome::Lost { .. }),
            "{scenario}: {outcome:?}"
        );
        let truth = rig
            .sim
            .entry(lost.as_str())
            .expect("processed by the terminal");
        let last = rig.terminal.last_result(rig.fresh_id()).await.unwrap();
        assert_eq!(last.request_id.as_ref(), Some(&lost), "{scenario}");
        assert_eq!(last.request_type.as_deref(), Some("CardPayment"));
        assert_eq!(last.response.result, TerminalResult::Success);
        assert_eq!(
            last.response.authorisation.unwrap().stan,
            truth.stan,
            "{scenario}"
        );
        assert_eq!(last.response.amount, truth.amount);
    }
}

#[tokio::test]
async fn print_last_ticket_then_reprint() {
    let mut rig = Rig::start().await;
    let (_, outcome, recorder) = rig.pay("9.54").await;
    assert_eq!(answered(outcome).result, TerminalResult::PrintLastTicket);
    assert!(recorder.receipts().is_empty());
    let (reprint_observer, _) = crate::rig::Recorder::new();
    let answer = rig
        .terminal
        .reprint(rig.fresh_id(), reprint_observer.clone())
        .await
        .unwrap();
    assert_eq!(answer.result, TerminalResult::Success);
    assert_eq!(reprint_observer.receipts().len(), 2);
}

#[tokio::test]
async fn unreachable_terminal_means_not_sent() {
    let mut rig = Rig::start().await;
    rig.sim.push(Scenario::Approve);
    let sim = std::mem::replace(&mut rig.sim, crate::rig::sim(Default::default()).await);
    sim.shutdown().await;
    let (_, outcome, recorder) = rig.pay("3.00").await;
    assert!(
        matches!(outcome, TerminalOutcome::NotSent { .. }),
        "{outcome:?}"
    );
    assert!(!recorder.heard().contains(&crate::rig::Heard::BeforeSend));
    assert!(matches!(
        rig.terminal.last_result(rig.fresh_id()).await,
        Err(TerminalError::Unreachable(_))
    ));
}
