//! The OPI edges real terminals hit, on the sans-IO cores: requests the codec cannot decode are
//! answered, never left waiting.

use std::sync::Arc;
use std::time::Instant;

use eps_core::terminal::{
    CardOperation, DeviceOutput, OriginalTransaction, ReversedKind, TerminalResult,
};
use opi_backend::codec;
use opi_backend::message::{Message, OverallResult};
use opi_backend::profile::TerminalProfile;
use opi_backend::session::{Conversation, Event, Identity, Link, Operation, SessionError};
use opi_backend::sim::SimConfig;
use time::macros::datetime;

use crate::flows::card_answer;
use crate::harness::{Pair, Seen, eur, payment};

#[test]
fn an_input_without_command_is_answered_format_error_at_once() {
    let config = SimConfig::default();
    let input_timeout = config.input_timeout;
    let mut pair = Pair::new(config);
    pair.login();
    let id = pair.start(payment("9.96"));
    let answer = card_answer(&pair.run());
    // FormatError is no "yes": the terminal aborts, at once rather than after its input timeout.
    assert_eq!(answer.result, TerminalResult::Aborted);
    assert!(pair.elapsed() < input_timeout, "{:?}", pair.elapsed());
    let answers = pair.sim.callback_answers();
    let refused = answers
        .iter()
        .find(|a| a.request_type == "Input")
        .expect("the Input was answered");
    assert_eq!(refused.result, OverallResult::FormatError);
    assert_eq!(refused.request_id, id.as_str());
    assert!(
        pair.errors.iter().any(|e| e.contains("FormatError")),
        "reported: {:?}",
        pair.errors
    );
    assert_eq!(
        pair.sim.ledger().by_request_id(id.as_str()).unwrap().result,
        OverallResult::Aborted
    );
}

/// A conversation whose payment is on the wire, waiting for its answer.
fn waiting_payment() -> Conversation {
    #[allow(clippy::disallowed_methods)] // a fixed epoch for a test without timers
    let now = Instant::now();
    let identity = Identity {
        workstation_id: "1".into(),
        pop_id: None,
        application_sender: "EPS".into(),
    };
    let id = opi_backend::message::RequestId::parse("20544").unwrap();
    let mut conversation = Conversation::new(
        id,
        payment("39.50"),
        identity,
        Arc::new(TerminalProfile::default()),
        now,
        datetime!(2026-03-01 10:00 UTC),
    )
    .unwrap();
    assert_eq!(
        conversation.poll_event(),
        Some(Event::Connect(Link::Request))
    );
    conversation.handle_connected(Link::Request, now).unwrap();
    assert_eq!(conversation.poll_event(), Some(Event::BeforeSend));
    conversation.handle_send_permission(Ok(()), now).unwrap();
    let request = conversation.poll_transmit().unwrap();
    assert_eq!(request.link, Link::Request);
    conversation.handle_written(Link::Request, now);
    assert_eq!(conversation.poll_event(), Some(Event::Sent));
    conversation
}

#[test]
fn well_formed_but_undecodable_device_requests_get_format_error_with_their_ids() {
    let bodies = [
        // An unknown attribute value.
        r#"<DeviceRequest RequestType="Output" WorkstationID="1" RequestID="20544" SequenceID="3"><Output OutDeviceTarget="Printer" Immediate="maybe"><TextLine>x</TextLine></Output></DeviceRequest>"#,
        // An Input without Command.
        r#"<DeviceRequest RequestType="Input" WorkstationID="1" RequestID="20544" SequenceID="4"><Input InDeviceTarget="CashierKeyboard"/></DeviceRequest>"#,
        // A bad TimeOut.
        r#"<DeviceRequest RequestType="Input" WorkstationID="1" RequestID="20544" SequenceID="5"><Input InDeviceTarget="CashierKeyboard"><Command TimeOut="soon">GetConfirmation</Command></Input></DeviceRequest>"#,
    ];
    for body in bodies {
        let mut conversation = waiting_payment();
        let reason = codec::decode(body.as_bytes()).unwrap_err().to_string();
        let envelope = codec::envelope(body.as_bytes()).unwrap();
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let error = conversation.handle_undecodable(Link::Callback(7), &envelope, &reason, now);
        assert!(matches!(error, SessionError::Undecodable { .. }), "{error}");
        let answer = conversation.poll_transmit().expect("answered");
        assert_eq!(answer.link, Link::Callback(7));
        let Message::DeviceResponse(response) = answer.message else {
            panic!("not a DeviceResponse: {:?}", answer.message);
        };
        assert_eq!(
            response.overall_result,
            OverallResult::FormatError,
            "{body}"
        );
        assert_eq!(response.header.request_id.as_str(), "20544");
        assert_eq!(response.header.workstation_id, "1");
        assert_eq!(
            response.header.sequence_id,
            envelope.header.unwrap().sequence_id
        );
        assert_eq!(
            Some(response.request_type.as_str()),
            envelope.request_type.as_deref()
        );
        // Nothing else happened: the callback link stays open and the request still waits.
        assert_eq!(conversation.poll_event(), None);
        assert!(!conversation.is_done());
    }
}

#[test]
fn the_simulator_answers_an_undecodable_request_format_error_too() {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut sim =
        opi_backend::sim::SimCore::new(SimConfig::default(), now, datetime!(2026-03-01 10:00 UTC));
    let link = sim.handle_accepted();
    let body = r#"<CardServiceRequest RequestType="CardPayment" WorkstationID="1" RequestID="31"><TotalAmount Currency="EUR">12,50</TotalAmount></CardServiceRequest>"#;
    let reason = codec::decode(body.as_bytes()).unwrap_err().to_string();
    let envelope = codec::envelope(body.as_bytes()).unwrap();
    sim.handle_undecodable(link, &envelope, &reason, now);
    let answer = sim.poll_transmit().expect("answered");
    let frame = answer.payload.render().unwrap();
    let Message::CardServiceResponse(response) = codec::decode(&frame[4..]).unwrap() else {
        panic!("not a CardServiceResponse");
    };
    assert_eq!(response.overall_result, OverallResult::FormatError);
    assert_eq!(response.header.request_id.as_str(), "31");
    assert_eq!(sim.poll_event(), None, "the connection stays open");
    assert!(sim.ledger().entries().is_empty());
}

/// Runs `operation` and returns the approval's STAN.
fn approved_stan(pair: &mut Pair, operation: Operation) -> Option<String> {
    pair.start(operation);
    let answer = card_answer(&pair.run());
    assert_eq!(answer.result, TerminalResult::Success);
    answer.authorisation.unwrap().stan
}

fn reversal(value: &str, stan: Option<String>, reverses: ReversedKind) -> Operation {
    Operation::Card(CardOperation::Reversal {
        amount: eur(value),
        original: OriginalTransaction {
            stan,
            ..OriginalTransaction::default()
        },
        reverses,
    })
}

#[test]
fn each_reversal_is_sent_as_the_type_matching_its_original() {
    let mut pair = Pair::new(SimConfig::default());
    pair.login();
    let paid = approved_stan(&mut pair, payment("10.00"));
    let reserved = approved_stan(
        &mut pair,
        Operation::Card(CardOperation::PreAuthorisation {
            amount: eur("50.00"),
        }),
    );
    let refunded = approved_stan(
        &mut pair,
        Operation::Card(CardOperation::Refund {
            amount: eur("3.00"),
            original: None,
        }),
    );
    let reserved_again = approved_stan(
        &mut pair,
        Operation::Card(CardOperation::PreAuthorisation {
            amount: eur("40.00"),
        }),
    );
    let completed = approved_stan(
        &mut pair,
        Operation::Card(CardOperation::Completion {
            amount: eur("30.00"),
            original: OriginalTransaction {
                stan: reserved_again,
                ..OriginalTransaction::default()
            },
        }),
    );
    for (value, stan, reverses, sent) in [
        ("10.00", paid, ReversedKind::Payment, "PaymentReversal"),
        (
            "50.00",
            reserved,
            ReversedKind::PreAuthorisation,
            "PreAuthReversal",
        ),
        ("3.00", refunded, ReversedKind::Refund, "RefundReversal"),
        (
            "30.00",
            completed,
            ReversedKind::Completion,
            "PaymentReversal",
        ),
    ] {
        let original = stan.clone();
        let id = pair.start(reversal(value, stan, reverses));
        let answer = card_answer(&pair.run());
        assert_eq!(answer.result, TerminalResult::Success, "{reverses:?}");
        let ledger = pair.sim.ledger();
        let entry = ledger.by_request_id(id.as_str()).unwrap();
        assert_eq!(entry.request_type, sent, "{reverses:?}");
        let reversed = ledger
            .entries()
            .iter()
            .find(|e| e.stan == original && e.request_type != sent)
            .unwrap();
        assert!(reversed.reversed, "{reverses:?}: the original is reversed");
    }
}

#[test]
fn a_profile_names_its_own_reversal_types() {
    let mut profile = TerminalProfile::default();
    profile.reversals.pre_authorisation = "PaymentReversal".into();
    let mut pair = Pair::with_profile(SimConfig::default(), profile);
    pair.login();
    let reserved = approved_stan(
        &mut pair,
        Operation::Card(CardOperation::PreAuthorisation {
            amount: eur("50.00"),
        }),
    );
    let id = pair.start(reversal("50.00", reserved, ReversedKind::PreAuthorisation));
    // The simulator reverses reservations only by PreAuthReversal: this one finds no payment.
    let answer = card_answer(&pair.run());
    assert_eq!(answer.result, TerminalResult::Failure);
    let entry = pair
        .sim
        .ledger()
        .by_request_id(id.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry.request_type, "PaymentReversal");
}

#[test]
fn a_presented_card_reaches_the_observer_between_prompt_and_receipts() {
    let config = SimConfig {
        card_events: true,
        ..SimConfig::default()
    };
    let mut pair = Pair::new(config);
    pair.login();
    pair.start(payment("12.00"));
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::Success);
    let card = pair
        .seen
        .iter()
        .position(|s| *s == Seen::CardAcquired)
        .expect("the card was reported");
    let first_receipt = pair
        .seen
        .iter()
        .position(|s| matches!(s, Seen::Output(DeviceOutput::Receipt { .. })))
        .unwrap();
    assert!(
        pair.displays() == 1 && card < first_receipt,
        "{:?}",
        pair.seen
    );
    let event = pair
        .sim
        .callback_answers()
        .iter()
        .find(|a| a.request_type == "Event")
        .cloned()
        .unwrap();
    assert_eq!(event.result, OverallResult::Success);
    // No card comes while the terminal waits for one, and none is reported unless asked for.
    pair.start(payment("7.21"));
    pair.run_until(|s| matches!(s, Seen::Output(_)));
    pair.abort();
    assert_eq!(card_answer(&pair.run()).result, TerminalResult::Aborted);
    assert!(!pair.seen.contains(&Seen::CardAcquired));
    let mut quiet = Pair::new(SimConfig::default());
    quiet.login();
    quiet.start(payment("12.00"));
    quiet.run();
    assert!(!quiet.seen.contains(&Seen::CardAcquired));
}
