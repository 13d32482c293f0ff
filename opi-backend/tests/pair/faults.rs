//! Each fault the simulator can inject, and what the EPS makes of it: an answer when one
//! arrived (whatever its dialect), "lost" when none did, never a guessed decline.

use eps_core::terminal::TerminalResult;
use opi_backend::session::Finished;
use opi_backend::sim::{Scenario, ScriptMatch, SimConfig};

use crate::flows::card_answer;
use crate::harness::{Pair, payment};

fn pair() -> Pair {
    let mut pair = Pair::new(SimConfig::default());
    pair.login();
    pair
}

#[test]
fn refusals_are_answers() {
    for (cents, expected) in [
        ("51", TerminalResult::Busy),
        ("52", TerminalResult::DeviceUnavailable),
        ("53", TerminalResult::LoggedOut),
        ("54", TerminalResult::PrintLastTicket),
    ] {
        let mut pair = pair();
        let id = pair.start(payment(&format!("9.{cents}")));
        assert_eq!(card_answer(&pair.run()).result, expected, "{cents}");
        let recorded = pair.sim.ledger().by_request_id(id.as_str());
        // Only PrintLastTicket was processed (and approved); the refusals did nothing.
        assert_eq!(
            recorded.map(|e| e.approved()),
            (cents == "54").then_some(true),
            "{cents}"
        );
    }
}

#[test]
fn logged_out_answer_ends_the_session() {
    let mut pair = pair();
    pair.start(payment("9.53"));
    pair.run();
    assert!(!pair.sim.is_logged_in());
}

#[test]
fn link_drops_mean_lost() {
    for (scenario, processed) in [
        (Scenario::DropAfterRequest, false),
        (Scenario::DropMidCallbacks, true),
        (Scenario::DropBeforeResponse, true),
    ] {
        let mut pair = pair();
        pair.sim.script(ScriptMatch::Financial, scenario);
        let id = pair.start(payment("20.00"));
        let outcome = pair.run();
        assert!(
            matches!(outcome, Finished::Lost { .. }),
            "{scenario}: {outcome:?}"
        );
        let entry = pair.sim.ledger().by_request_id(id.as_str());
        assert_eq!(entry.is_some_and(|e| e.approved()), processed, "{scenario}");
    }
}

#[test]
fn mid_callback_drop_happens_after_a_callback() {
    let mut pair = pair();
    pair.start(payment("20.68"));
    assert!(matches!(pair.run(), Finished::Lost { .. }));
    assert_eq!(pair.displays(), 1);
    assert!(pair.receipts().is_empty());
}

#[test]
fn unreadable_answers_mean_lost() {
    for cents in ["91", "92"] {
        let mut pair = pair();
        pair.start(payment(&format!("7.{cents}")));
        let outcome = pair.run();
        assert!(
            matches!(outcome, Finished::Lost { ref reason } if reason.contains("unreadable")),
            "{outcome:?}"
        );
        assert!(!pair.errors.is_empty(), "the bad frame is reported");
    }
}

#[test]
fn lenient_reading_of_dialects() {
    // Character-count prefix (recovered by the codec), no namespace, ISO-8859-1.
    for cents in ["93", "94", "95"] {
        let mut pair = pair();
        pair.start(payment(&format!("7.{cents}")));
        let answer = card_answer(&pair.run());
        assert_eq!(answer.result, TerminalResult::Success, "{cents}");
        assert_eq!(pair.receipts().len(), 2, "{cents}");
    }
}

#[test]
fn char_count_prefix_text_survives() {
    let mut pair = pair();
    pair.start(payment("7.93"));
    let answer = card_answer(&pair.run());
    assert_eq!(
        answer.error_text.as_deref(),
        Some("Zahlung erfolgt – Gebühr 0,00 €")
    );
}

#[test]
fn busy_while_the_terminal_works_on_something_else() {
    // A scripted Busy for a service request (the health check) is an answer, not a loss.
    let mut pair = pair();
    pair.sim
        .script(ScriptMatch::RequestType("Diagnosis".into()), Scenario::Busy);
    pair.start(opi_backend::session::Operation::Diagnosis);
    let Finished::Answered(answer) = pair.run() else {
        panic!("no answer");
    };
    assert_eq!(answer.result(), TerminalResult::Busy);
}

#[test]
fn undeliverable_receipts_turn_into_print_last_ticket() {
    // Callbacks cannot be delivered (the EPS's listener is gone): the terminal still approves,
    // and says PrintLastTicket since the receipts did not arrive.
    let mut pair = pair();
    pair.refuse_callbacks = true;
    let id = pair.start(payment("6.00"));
    assert_eq!(
        card_answer(&pair.run()).result,
        TerminalResult::PrintLastTicket
    );
    let entry = pair.sim.ledger().by_request_id(id.as_str()).unwrap();
    assert!(entry.approved() && !entry.receipts_delivered);
}
