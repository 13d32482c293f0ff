//! Recovery after a lost answer: RepeatLastMessage with a RequestID match, and TicketReprint.

use eps_core::money::Currency;
use eps_core::receipt::ReceiptCopy;
use eps_core::terminal::{TerminalError, TerminalResult};
use opi_backend::session::{Answer, Finished, Operation, last_result};
use opi_backend::sim::{Scenario, ScriptMatch, SimConfig};

use crate::flows::card_answer;
use crate::harness::{Pair, payment, terminal_id};

fn repeat_last(pair: &mut Pair) -> Result<eps_core::terminal::LastResult, TerminalError> {
    pair.start(Operation::RepeatLastMessage);
    match pair.run() {
        Finished::Answered(Answer::Card(response)) => last_result(&response, Currency::EUR),
        other => panic!("no RepeatLastMessage answer: {other:?}"),
    }
}

#[test]
fn lost_answer_is_recovered_with_its_request_id() {
    for scenario in [
        Scenario::DropBeforeResponse,
        Scenario::DropMidCallbacks,
        Scenario::Garbage,
    ] {
        let mut pair = Pair::new(SimConfig::default());
        pair.login();
        pair.sim.script(ScriptMatch::Financial, scenario);
        let lost = pair.start(payment("42.00"));
        assert!(matches!(pair.run(), Finished::Lost { .. }), "{scenario}");

        let last = repeat_last(&mut pair).unwrap();
        assert_eq!(last.request_id, Some(terminal_id(&lost)), "{scenario}");
        assert_eq!(last.request_type.as_deref(), Some("CardPayment"));
        assert_eq!(last.response.result, TerminalResult::Success);
        let truth = pair.sim.ledger().by_request_id(lost.as_str()).unwrap();
        let auth = last.response.authorisation.unwrap();
        assert_eq!(auth.stan, truth.stan);
        assert_eq!(auth.approval_code, truth.approval_code);
        assert_eq!(last.response.amount, truth.amount);
    }
}

#[test]
fn request_never_processed_shows_as_another_request_id() {
    let mut pair = Pair::new(SimConfig::default());
    pair.login();
    let earlier = pair.start(payment("1.00"));
    pair.run();
    let lost = pair.start(payment("2.67"));
    assert!(matches!(pair.run(), Finished::Lost { .. }));
    let last = repeat_last(&mut pair).unwrap();
    assert_eq!(last.request_id, Some(terminal_id(&earlier)));
    assert_ne!(last.request_id, Some(terminal_id(&lost)));
}

#[test]
fn nothing_to_repeat_is_a_refusal() {
    let mut pair = Pair::new(SimConfig::default());
    pair.login();
    assert_eq!(
        repeat_last(&mut pair),
        Err(TerminalError::Refused(TerminalResult::Failure))
    );
}

#[test]
fn aborted_payment_recovers_as_aborted() {
    let mut pair = Pair::new(SimConfig::default());
    pair.login();
    pair.sim
        .script(ScriptMatch::Financial, Scenario::WaitForAbort);
    let id = pair.start(payment("3.00"));
    pair.run_until(|s| matches!(s, crate::harness::Seen::Output(_)));
    pair.abort();
    pair.run();
    let last = repeat_last(&mut pair).unwrap();
    assert_eq!(last.request_id, Some(terminal_id(&id)));
    assert_eq!(last.response.result, TerminalResult::Aborted);
}

#[test]
fn print_last_ticket_then_ticket_reprint_collects_the_receipts() {
    let mut pair = Pair::new(SimConfig::default());
    pair.login();
    pair.start(payment("11.54"));
    assert_eq!(
        card_answer(&pair.run()).result,
        TerminalResult::PrintLastTicket
    );
    assert!(pair.receipts().is_empty());

    pair.start(Operation::TicketReprint);
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::Success);
    let copies: Vec<_> = pair.receipts().into_iter().map(|r| r.0).collect();
    assert_eq!(copies, [ReceiptCopy::Customer, ReceiptCopy::Merchant]);
    assert!(pair.receipts()[0].1.iter().any(|l| l.contains("11.54")));
}

#[test]
fn a_terminal_that_keeps_working_after_the_drop_repeats_its_previous_request_meanwhile() {
    let mut pair = Pair::new(SimConfig {
        latency: std::time::Duration::from_secs(5),
        ..SimConfig::default()
    });
    pair.login();
    pair.sim.script(ScriptMatch::Financial, Scenario::Approve);
    let earlier = pair.start(payment("1.00"));
    assert!(matches!(pair.run(), Finished::Answered(_)));
    pair.sim
        .script(ScriptMatch::Financial, Scenario::DropAndKeepWorking);
    let lost = pair.start(payment("2.00"));
    assert!(matches!(pair.run(), Finished::Lost { .. }));
    // Still working on it: RepeatLastMessage names the earlier request, not Busy.
    let last = repeat_last(&mut pair).unwrap();
    assert_eq!(last.request_id, Some(terminal_id(&earlier)));
    assert!(pair.sim.ledger().by_request_id(lost.as_str()).is_none());
    // Once its work is done, the ledger holds it approved and RepeatLastMessage names it.
    while pair.sim.is_busy() {
        assert!(pair.advance(), "the terminal finishes its work");
    }
    assert!(
        pair.sim
            .ledger()
            .by_request_id(lost.as_str())
            .unwrap()
            .approved()
    );
    let last = repeat_last(&mut pair).unwrap();
    assert_eq!(last.request_id, Some(terminal_id(&lost)));
}
