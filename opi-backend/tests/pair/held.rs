//! The simulator's PIN entry and held Logins, against the EPS's conversation core.

use eps_core::prompt::PromptAnswer;
use eps_core::terminal::TerminalResult;
use opi_backend::profile::SessionStart;
use opi_backend::session::{Finished, Operation};
use opi_backend::sim::SimConfig;

use crate::flows::card_answer;
use crate::harness::{InputPolicy, Pair, Seen, payment};

#[test]
fn a_pin_reaches_the_terminal_and_approves() {
    let mut pair = Pair::new(SimConfig::default());
    pair.login();
    pair.input = InputPolicy::Answer(PromptAnswer::Number("91734655".into()));
    // .14: the terminal asks for a PIN.
    pair.start(payment("8.14"));
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::Success);
    assert!(pair.seen.contains(&Seen::Input("GetPIN".into())));
    assert_eq!(pair.sim.pins(), ["91734655"]);
}

#[test]
fn no_pin_aborts() {
    let mut pair = Pair::new(SimConfig::default());
    pair.login();
    pair.input = InputPolicy::Silent;
    pair.start(payment("8.14"));
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::Aborted);
    assert!(pair.sim.pins().is_empty());
}

#[test]
fn a_held_login_is_answered_once_released() {
    let mut pair = Pair::new(SimConfig {
        hold_logins: true,
        ..SimConfig::default()
    });
    pair.start(Operation::SessionStart(SessionStart::Login));
    pair.drive();
    assert!(pair.outcome.is_none(), "no answer while the Login is held");
    assert!(!pair.sim.is_logged_in());
    assert_eq!(pair.sim.release_logins(), 1);
    let outcome = pair.run();
    assert!(matches!(outcome, Finished::Answered(_)), "{outcome:?}");
    assert!(pair.sim.is_logged_in());
    // Later Logins are answered at once.
    pair.login();
}
