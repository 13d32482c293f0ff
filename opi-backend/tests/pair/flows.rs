//! Happy and unhappy paths: payments with callbacks, declines, aborts, inputs, follow-ups.

use eps_core::money::Currency;
use eps_core::prompt::PromptAnswer;
use eps_core::receipt::ReceiptCopy;
use eps_core::terminal::{CardOperation, OriginalTransaction, ReversedKind, TerminalResult};
use opi_backend::profile::{AbortPlacement, SessionStart, TerminalProfile};
use opi_backend::session::{Answer, Finished, Operation, reconciliation_report, terminal_response};
use opi_backend::sim::{CallbackIds, CallbackMode, ReceiptStyle, SimConfig};

use crate::harness::{InputPolicy, Pair, Seen, eur, payment};

fn sim() -> SimConfig {
    SimConfig::default()
}

pub(crate) fn card_answer(outcome: &Finished) -> eps_core::terminal::TerminalResponse {
    match outcome {
        Finished::Answered(Answer::Card(response)) => terminal_response(response, Currency::EUR),
        other => panic!("expected a card answer, got {other:?}"),
    }
}

#[test]
fn payment_with_display_and_two_receipts() {
    let mut pair = Pair::new(sim());
    pair.login();
    let id = pair.start(payment("39.50"));
    let outcome = pair.run();
    let answer = card_answer(&outcome);
    assert_eq!(answer.result, TerminalResult::Success);
    assert_eq!(answer.amount, Some(eur("39.50")));
    let auth = answer.authorisation.unwrap();
    assert_eq!(
        auth.masked_pan.as_deref().map(|p| p.contains("######")),
        Some(true)
    );
    assert_eq!(pair.seen[0], Seen::BeforeSend);
    assert_eq!(pair.seen[1], Seen::Sent);
    assert_eq!(pair.displays(), 1);
    let receipts = pair.receipts();
    assert_eq!(
        receipts.iter().map(|r| r.0).collect::<Vec<_>>(),
        [ReceiptCopy::Customer, ReceiptCopy::Merchant]
    );
    assert!(receipts[0].1.iter().any(|l| l.contains("EUR 39.50")));
    let entry = pair.sim.ledger().by_request_id(id.as_str()).unwrap();
    assert!(entry.approved() && entry.receipts_delivered);
    assert_eq!(entry.stan, auth.stan);
    assert_eq!(entry.approval_code, auth.approval_code);
    assert!(pair.errors.is_empty(), "{:?}", pair.errors);
    assert!(pair.elapsed().is_zero(), "no timer needed");
}

#[test]
fn receipt_targets_dotted_ids_and_per_request_callbacks() {
    let config = SimConfig {
        receipts: ReceiptStyle::Targets,
        callback_ids: CallbackIds::Dotted,
        callbacks: CallbackMode::PerRequest,
        ..sim()
    };
    let mut pair = Pair::new(config);
    pair.login();
    pair.start(payment("10.00"));
    let answer = card_answer(&pair.run());
    assert_eq!(answer.result, TerminalResult::Success);
    let copies: Vec<_> = pair.receipts().into_iter().map(|r| r.0).collect();
    assert_eq!(copies, [ReceiptCopy::Customer, ReceiptCopy::Merchant]);
    assert!(pair.errors.is_empty(), "{:?}", pair.errors);
}

#[test]
fn decline_has_a_customer_receipt_only() {
    let mut pair = Pair::new(sim());
    pair.login();
    let id = pair.start(payment("12.05"));
    let answer = card_answer(&pair.run());
    assert_eq!(answer.result, TerminalResult::Failure);
    assert_eq!(answer.error_code.as_deref(), Some("05"));
    assert_eq!(pair.receipts().len(), 1);
    assert!(
        !pair
            .sim
            .ledger()
            .by_request_id(id.as_str())
            .unwrap()
            .approved()
    );
}

#[test]
fn requests_need_a_login() {
    let mut pair = Pair::new(sim());
    pair.start(payment("1.00"));
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::LoggedOut);
    assert!(pair.sim.ledger().entries().is_empty());
    pair.login();
    pair.start(payment("1.00"));
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::Success);
}

#[test]
fn activate_terminal_opens_the_session_too() {
    let mut pair = Pair::new(sim());
    pair.start(Operation::SessionStart(SessionStart::ActivateTerminal));
    assert!(matches!(pair.run(), Finished::Answered(Answer::Service(_))));
    assert!(pair.sim.is_logged_in());
}

fn abort_waiting_payment(placement: AbortPlacement) {
    let profile = TerminalProfile {
        abort: placement,
        ..TerminalProfile::default()
    };
    let mut pair = Pair::with_profile(sim(), profile);
    pair.login();
    let id = pair.start(payment("5.21"));
    pair.run_until(|s| matches!(s, Seen::Output(_)));
    assert!(pair.outcome.is_none());
    pair.abort();
    let answer = card_answer(&pair.run());
    assert_eq!(answer.result, TerminalResult::Aborted);
    assert!(pair.seen.contains(&Seen::Abort(Ok(()))), "{:?}", pair.seen);
    let entry = pair.sim.ledger().by_request_id(id.as_str()).unwrap();
    assert_eq!(entry.result.as_str(), "Aborted");
    // The abort came on the connection the placement names.
    let received = pair.sim.ledger().received();
    let payment = received
        .iter()
        .find(|r| r.request_id == id.as_str())
        .expect("the payment reached the terminal");
    let aborts: Vec<_> = received.iter().filter(|r| r.is_abort()).collect();
    assert_eq!(aborts.len(), 1, "{received:?}");
    match placement {
        AbortPlacement::NewConnection => assert_ne!(aborts[0].link, payment.link),
        AbortPlacement::SameConnection => assert_eq!(aborts[0].link, payment.link),
    }
    assert!(pair.errors.is_empty(), "{:?}", pair.errors);
}

#[test]
fn abort_on_a_new_connection() {
    abort_waiting_payment(AbortPlacement::NewConnection);
}

#[test]
fn abort_on_the_pending_connection() {
    abort_waiting_payment(AbortPlacement::SameConnection);
}

#[test]
fn abort_before_sending_means_not_sent() {
    let mut pair = Pair::new(sim());
    pair.login();
    pair.reach = crate::harness::Reachability::Blackhole;
    pair.start(payment("1.00"));
    pair.drive();
    pair.abort();
    pair.drive();
    assert!(matches!(pair.outcome, Some(Finished::NotSent { .. })));
    assert!(pair.seen.contains(&Seen::Abort(Ok(()))));
}

#[test]
fn terminal_aborts_by_itself_after_its_delay() {
    let mut pair = Pair::new(SimConfig {
        self_abort_after: std::time::Duration::from_secs(45),
        ..sim()
    });
    pair.login();
    pair.start(payment("5.21"));
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::Aborted);
    assert_eq!(pair.elapsed().as_secs(), 45);
}

#[test]
fn confirmation_yes_approves_and_no_aborts() {
    let mut pair = Pair::new(sim());
    pair.login();
    pair.input = InputPolicy::Answer(PromptAnswer::Confirmation(true));
    pair.start(payment("8.13"));
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::Success);
    assert!(pair.seen.contains(&Seen::Input("GetConfirmation".into())));

    pair.input = InputPolicy::Answer(PromptAnswer::Confirmation(false));
    pair.start(payment("8.13"));
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::Aborted);
}

#[test]
fn unanswered_confirmation_gets_the_profile_default_at_its_timeout() {
    for (default, expected) in [
        (false, TerminalResult::Aborted),
        (true, TerminalResult::Success),
    ] {
        let mut profile = TerminalProfile::default();
        profile.input_default.confirmation = default;
        let mut pair = Pair::with_profile(sim(), profile);
        pair.login();
        pair.input = InputPolicy::Silent;
        pair.start(payment("8.13"));
        assert_eq!(card_answer(&pair.run()).result, expected);
        assert!(pair.seen.contains(&Seen::InputWithdrawn));
        // The simulator's Input says TimeOut=30; the EPS waits exactly that long.
        assert_eq!(pair.elapsed().as_secs(), 30);
    }
}

#[test]
fn late_answer_to_a_timed_out_input_is_refused() {
    let mut pair = Pair::new(sim());
    pair.login();
    pair.input = InputPolicy::Silent;
    pair.start(payment("8.13"));
    pair.run();
    assert!(
        pair.answer_pending_input(Some(PromptAnswer::Confirmation(true)))
            .is_err()
    );
}

#[test]
fn preauthorisation_then_completion_and_reversal() {
    let mut pair = Pair::new(sim());
    pair.login();
    pair.start(Operation::Card(CardOperation::PreAuthorisation {
        amount: eur("80.00"),
    }));
    let preauth = card_answer(&pair.run()).authorisation.unwrap();
    let original = OriginalTransaction {
        stan: preauth.stan.clone(),
        ..OriginalTransaction::default()
    };
    pair.start(Operation::Card(CardOperation::Completion {
        amount: eur("62.40"),
        original: original.clone(),
    }));
    let completion = card_answer(&pair.run());
    assert_eq!(completion.result, TerminalResult::Success);
    // A second completion of the same pre-authorisation is refused.
    pair.start(Operation::Card(CardOperation::Completion {
        amount: eur("1.00"),
        original,
    }));
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::Failure);

    let reversed = OriginalTransaction {
        stan: completion.authorisation.unwrap().stan,
        ..OriginalTransaction::default()
    };
    pair.start(Operation::Card(CardOperation::Reversal {
        amount: eur("62.40"),
        original: reversed,
        reverses: ReversedKind::Completion,
    }));
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::Success);
    let ledger = pair.sim.ledger().entries();
    assert!(ledger[0].completed);
    assert!(ledger[1].reversed);
}

#[test]
fn refund_and_reconciliation_with_closure() {
    let mut pair = Pair::new(sim());
    pair.login();
    for value in ["10.00", "20.00", "30.00"] {
        pair.start(payment(value));
        pair.run();
    }
    pair.start(Operation::Card(CardOperation::Refund {
        amount: eur("4.00"),
        original: None,
    }));
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::Success);

    pair.start(Operation::Reconciliation { closure: true });
    let Finished::Answered(Answer::Service(response)) = pair.run() else {
        panic!("no reconciliation answer");
    };
    let (report, unreadable) = reconciliation_report(&response, Currency::EUR);
    assert_eq!((report.result, unreadable), (TerminalResult::Success, 0));
    let debit: i64 = report
        .totals
        .iter()
        .filter(|t| t.payment_type.as_deref() == Some("Debit"))
        .map(|t| t.amount.minor())
        .sum();
    let count: u32 = report.totals.iter().map(|t| t.count).sum();
    assert_eq!((debit, count), (6000, 4));
    assert_eq!(pair.receipts()[0].0, ReceiptCopy::Report);

    pair.start(Operation::Reconciliation { closure: false });
    let Finished::Answered(Answer::Service(response)) = pair.run() else {
        panic!("no reconciliation answer");
    };
    assert!(
        reconciliation_report(&response, Currency::EUR)
            .0
            .totals
            .is_empty()
    );
}

#[test]
fn observer_refusal_means_not_sent_and_nothing_reaches_the_terminal() {
    let mut pair = Pair::new(sim());
    pair.login();
    pair.before_send = Err("store unavailable".into());
    pair.start(payment("3.00"));
    assert!(
        matches!(pair.run(), Finished::NotSent { reason } if reason.contains("store unavailable"))
    );
    assert!(pair.sim.ledger().entries().is_empty());
    assert!(!pair.seen.contains(&Seen::Sent));
}

#[test]
fn card_events_and_foreign_callbacks_are_answered_never_dropped() {
    use opi_backend::message::{
        DeviceEvent, DeviceRequest, DeviceRequestType, EventType, Header, Message, RequestId,
    };
    use opi_backend::session::{Link, SessionError};

    let mut pair = Pair::new(sim());
    pair.login();
    let id = pair.start(payment("5.21"));
    pair.run_until(|s| matches!(s, Seen::Output(_)));
    let now = pair.now;
    let eps = pair.eps.as_mut().unwrap();

    let mut event = DeviceRequest::new(Header::new(id.clone(), "1"), DeviceRequestType::Event);
    event.event = Some(DeviceEvent {
        event_type: EventType::CardInserted,
        target: None,
        text: None,
    });
    eps.handle_message(Link::Callback(900), Message::DeviceRequest(event), now)
        .unwrap();
    let answer = eps.poll_transmit().unwrap();
    assert_eq!(answer.link, Link::Callback(900));
    assert!(
        matches!(answer.message, Message::DeviceResponse(r) if r.overall_result.as_str() == "Success")
    );
    assert!(
        std::iter::from_fn(|| eps.poll_event())
            .any(|e| e == opi_backend::session::Event::CardAcquired)
    );

    let foreign = DeviceRequest::new(
        Header::new(RequestId::parse("someone-else").unwrap(), "1"),
        DeviceRequestType::Output,
    );
    let error = eps
        .handle_message(Link::Callback(901), Message::DeviceRequest(foreign), now)
        .unwrap_err();
    assert!(matches!(error, SessionError::Unexpected { .. }));
    assert_eq!(
        eps.poll_transmit().unwrap().link,
        Link::Callback(901),
        "still answered"
    );
    assert!(
        pair.outcome.is_none(),
        "a stray callback does not end the request"
    );
}
