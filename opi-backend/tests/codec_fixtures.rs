//! Golden fixtures: strict ones are exactly what the writer produces and round-trip through the
//! typed model; lenient ones (real-world dialects) read to the same message as their strict twin.

use std::fs;
use std::path::{Path, PathBuf};

use eps_core::money::{Amount, Currency};
use opi_backend::codec::{self, FrameDecoder, WriteOptions};
use opi_backend::message::{
    CardRequestType, DeviceTarget, InputCommandKind, InputValue, Message, MonetaryAmount,
    OverallResult, ServiceRequestType,
};
use opi_backend::profile::TerminalProfile;
use opi_backend::session;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "xml"))
        .collect();
    paths.sort();
    paths
}

fn strict(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/strict")
        .join(format!("{name}.xml"));
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode(body: &[u8], what: &str) -> Message {
    codec::decode(body).unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[test]
fn strict_fixtures_are_what_the_writer_writes_and_round_trip() {
    let paths = fixtures("strict");
    assert!(paths.len() >= 40, "only {} strict fixtures", paths.len());
    for path in paths {
        let name = path.display().to_string();
        let body = fs::read(&path).unwrap();
        let message = decode(&body, &name);
        let written = codec::encode_body(&message, &WriteOptions::STRICT).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(&body),
            "{name}: the writer's output differs from the golden file"
        );
        assert_eq!(decode(&written, &name), message, "{name}");
        let latin1 = codec::encode_body(&message, &WriteOptions::LATIN1).unwrap();
        assert_eq!(decode(&latin1, &name), message, "{name} via ISO-8859-1");
    }
}

#[test]
fn lenient_fixtures_read_like_their_strict_twins() {
    let paths = fixtures("lenient");
    assert!(paths.len() >= 10);
    for path in paths {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let twin = file.split('.').next().unwrap();
        let lenient = decode(&fs::read(&path).unwrap(), &file);
        let strict = decode(&strict(twin), twin);
        assert_eq!(lenient, strict, "{file} differs from strict/{twin}.xml");
    }
}

#[test]
fn the_card_payment_response_keeps_what_recovery_and_receipts_need() {
    let Message::CardServiceResponse(response) = decode(&strict("card_payment_response"), "")
    else {
        panic!("not a CardServiceResponse");
    };
    assert_eq!(response.overall_result, OverallResult::Success);
    assert_eq!(response.request_type, CardRequestType::CardPayment);
    assert_eq!(response.header.request_id.as_str(), "20544");
    let terminal = response.terminal.as_ref().unwrap();
    assert_eq!(terminal.terminal_id.as_deref(), Some("68276185"));
    assert_eq!(terminal.stan.as_deref(), Some("021601"));
    let tender = response.tender.as_ref().unwrap();
    assert_eq!(
        tender.total_amount.as_ref().unwrap().amount,
        MonetaryAmount::Known(Amount::from_minor(3950, Currency::EUR).unwrap())
    );
    let auth = response.authorisation().unwrap();
    assert_eq!(
        auth.card_pan.as_ref().unwrap().as_sent(),
        "680533######4747"
    );
    assert_eq!(auth.card_circuit.as_deref(), Some("girocard"));
    assert_eq!(auth.receipt_number.as_deref(), Some("8930"));
    let private = response.private_data.as_ref().unwrap();
    assert_eq!(private.error_code(), Some("1002700"));
    assert_eq!(private.error_text(), Some("Zahlung erfolgt"));
}

#[test]
fn repeat_last_message_carries_the_original_header() {
    let Message::CardServiceResponse(response) =
        decode(&strict("repeat_last_message_response"), "")
    else {
        panic!("not a CardServiceResponse");
    };
    let original = response.original_header.unwrap();
    assert_eq!(original.request_id.as_str(), "20544");
    assert_eq!(original.request_type, "CardPayment");
    assert_eq!(original.overall_result, Some(OverallResult::Success));
}

#[test]
fn device_requests_name_their_targets_and_commands() {
    let Message::DeviceRequest(request) = decode(&strict("device_input_confirmation_request"), "")
    else {
        panic!("not a DeviceRequest");
    };
    assert_eq!(request.outputs[0].target, DeviceTarget::CashierDisplay);
    let input = request.input.unwrap();
    assert_eq!(input.target, DeviceTarget::CashierKeyboard);
    assert_eq!(input.command.kind, InputCommandKind::GetConfirmation);
    assert_eq!(input.command.timeout, Some(60));

    let Message::DeviceRequest(request) = decode(&strict("device_output_e_journal"), "") else {
        panic!("not a DeviceRequest");
    };
    assert_eq!(request.outputs[0].target, DeviceTarget::EJournal);
    assert!(request.outputs[0].target.is_printer());

    let Message::DeviceRequest(request) = decode(&strict("device_output_printer"), "") else {
        panic!("not a DeviceRequest");
    };
    let lines: Vec<&str> = request.outputs[0]
        .text_lines
        .iter()
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(lines[1], "Bäckerei Müller, Köln");
    assert_eq!(
        lines[3], "  girocard  680533######4747",
        "leading spaces are kept"
    );
}

#[test]
fn lenient_input_values_are_booleans() {
    let Message::DeviceResponse(response) = decode(
        &fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/lenient/device_input_confirmation_response.inboolean_1.xml"),
        )
        .unwrap(),
        "",
    ) else {
        panic!("not a DeviceResponse");
    };
    assert_eq!(
        response.input.unwrap().value,
        Some(InputValue::Boolean(true))
    );
}

#[test]
fn unknown_enumeration_values_are_kept() {
    let Message::CardServiceResponse(response) = decode(&strict("card_payment_unknown_values"), "")
    else {
        panic!("not a CardServiceResponse");
    };
    assert_eq!(
        response.request_type,
        CardRequestType::Other("CardBarTab".into())
    );
    assert_eq!(
        response.overall_result,
        OverallResult::Other("DayClosed".into())
    );
    let Message::ServiceRequest(request) =
        decode(&strict("reconciliation_with_closure_request"), "")
    else {
        panic!("not a ServiceRequest");
    };
    assert_eq!(
        request.request_type,
        ServiceRequestType::ReconciliationWithClosure
    );
}

#[test]
fn a_character_count_prefix_is_recovered_from_the_buffered_bytes() {
    let body = strict("device_output_printer");
    let chars = String::from_utf8(body.clone()).unwrap().chars().count();
    assert!(chars < body.len(), "the fixture must hold non-ASCII text");
    let mut wire = u32::try_from(chars).unwrap().to_be_bytes().to_vec();
    wire.extend_from_slice(&body);
    // A well-formed frame follows on the same connection.
    let next = codec::encode(&decode(&strict("login_request"), ""), &WriteOptions::STRICT).unwrap();
    wire.extend_from_slice(&next);

    for chunk in [1, 7, 64, wire.len()] {
        let mut decoder = FrameDecoder::default();
        let mut frames = Vec::new();
        for piece in wire.chunks(chunk) {
            decoder.push(piece);
            while let Some(frame) = decoder.next_frame().unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames.len(), 2, "chunk size {chunk}");
        assert!(frames[0].length_recovered());
        assert_eq!(frames[0].body(), body.trim_ascii_end());
        assert_eq!(
            decode(frames[0].body(), "recovered"),
            decode(&body, "strict")
        );
        assert!(!frames[1].length_recovered());
        assert_eq!(
            decode(frames[1].body(), "next"),
            decode(&strict("login_request"), "")
        );
        assert_eq!(decoder.finish().unwrap(), None);
    }
}

#[test]
fn latin1_output_is_encoded_and_declared_as_such() {
    let message = decode(&strict("device_output_journal_printer"), "");
    let body = codec::encode_body(&message, &WriteOptions::LATIN1).unwrap();
    assert!(body.starts_with(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"));
    assert!(
        body.windows(2).any(|w| w == b"H\xE4"),
        "ä is one ISO-8859-1 byte"
    );
    assert!(std::str::from_utf8(&body).is_err());
    assert_eq!(decode(&body, "latin1"), message);
}

fn lenient(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lenient")
        .join(format!("{name}.xml"));
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn card_response(body: &[u8]) -> opi_backend::message::CardServiceResponse {
    match decode(body, "card response") {
        Message::CardServiceResponse(response) => response,
        other => panic!("not a CardServiceResponse: {other:?}"),
    }
}

#[test]
fn the_card_circuit_is_found_wherever_the_terminal_puts_it() {
    // On Authorisation as an attribute (S1) or a child element; in CardValue as a child element
    // (S1's KDoc samples) or an attribute; CardValue at the root or inside Tender.
    for body in [
        strict("card_payment_response"),
        lenient("card_payment_response.card_circuit_element"),
        lenient("card_payment_response.card_value_in_tender"),
        strict("card_payment_response_card_value"),
        lenient("card_payment_response_card_value.circuit_attribute"),
    ] {
        let answer = session::terminal_response(&card_response(&body), Currency::EUR);
        let auth = answer.authorisation.expect("approved with details");
        assert_eq!(
            auth.card_circuit.as_deref(),
            Some("girocard"),
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
}

#[test]
fn lowercase_currency_codes_name_the_currency() {
    let Message::CardServiceRequest(request) =
        decode(&lenient("card_payment_request.lowercase_currency"), "")
    else {
        panic!("not a CardServiceRequest");
    };
    assert_eq!(
        request.total_amount.unwrap().amount,
        MonetaryAmount::Known(Amount::from_minor(3950, Currency::EUR).unwrap())
    );
}

#[test]
fn a_body_declared_latin1_that_is_utf8_reads_as_utf8() {
    let body = lenient("device_output_printer.utf8_declared_latin1");
    assert!(body.starts_with(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"));
    let Message::DeviceRequest(request) = decode(&body, "") else {
        panic!("not a DeviceRequest");
    };
    assert_eq!(
        request.outputs[0].text_lines[1].text,
        "Bäckerei Müller, Köln"
    );
}

/// The options a `written/<twin>.<variant>.xml` fixture was written with.
fn options_of(variant: &str) -> WriteOptions {
    let profile = TerminalProfile {
        write_namespace: !variant.contains("no_namespace"),
        write_currency: !variant.contains("no_currency"),
        ..TerminalProfile::default()
    };
    profile.write_options()
}

#[test]
fn profiles_can_leave_out_the_namespace_and_the_currency() {
    let paths = fixtures("written");
    assert!(paths.len() >= 3);
    for path in paths {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let (twin, variant) = file.trim_end_matches(".xml").split_once('.').unwrap();
        let message = decode(&strict(twin), twin);
        let options = options_of(variant);
        let written = codec::encode_body(&message, &options).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(&fs::read(&path).unwrap()),
            "{file}: the writer's output differs from the golden file"
        );
        if options.currency {
            assert_eq!(decode(&written, &file), message, "{file}");
        }
    }
    assert_eq!(
        TerminalProfile::default().write_options(),
        WriteOptions::STRICT,
        "by default both are written"
    );
}

#[test]
fn the_ep2_profile_writes_ep2_service_requests() {
    use opi_backend::message::RequestId;
    use opi_backend::profile::SessionStart;
    use opi_backend::session::{Identity, Operation};
    let ep2 = TerminalProfile::builtin("ep2").unwrap();
    let identity = Identity {
        workstation_id: "1".into(),
        pop_id: Some("001".into()),
        application_sender: "EPS".into(),
    };
    let wall = time::macros::datetime!(2024-02-21 07:59:01 +01:00);
    let id = RequestId::parse("30001").unwrap();
    for (operation, golden) in [
        (
            Operation::SessionStart(SessionStart::ActivateTerminal),
            "activate_terminal_request",
        ),
        (
            Operation::SessionEnd(SessionStart::ActivateTerminal),
            "deactivate_terminal_request",
        ),
        (Operation::TransmitTransactions, "transmit_trx_request"),
        (
            Operation::Reconciliation { closure: true },
            "close_day_request",
        ),
    ] {
        let message = operation.to_message(&id, &identity, &ep2, wall).unwrap();
        let written = codec::encode_body(&message, &ep2.write_options()).unwrap();
        assert_eq!(
            String::from_utf8(written).unwrap(),
            String::from_utf8(strict(golden)).unwrap(),
            "{golden}"
        );
    }
    // The default profile closes the day the German way.
    let default = TerminalProfile::default();
    let closing = Operation::Reconciliation { closure: true };
    assert_eq!(closing.request_type(&default), "ReconciliationWithClosure");
}

#[test]
fn ep2_answers_read_as_success_for_their_own_requests() {
    for golden in [
        "activate_terminal_response",
        "activate_terminal_response_already",
        "deactivate_terminal_response",
        "transmit_trx_response",
        "close_day_response",
    ] {
        let Message::ServiceResponse(response) = decode(&strict(golden), golden) else {
            panic!("{golden}: not a ServiceResponse");
        };
        assert_eq!(
            session::service_result(&response),
            eps_core::terminal::TerminalResult::Success,
            "{golden}"
        );
    }
    let Message::ServiceResponse(closed) = decode(&strict("close_day_response"), "") else {
        panic!("not a ServiceResponse");
    };
    let chf = Currency::parse("CHF").unwrap();
    let (report, unreadable) = session::reconciliation_report(&closed, chf);
    assert_eq!(unreadable, 0);
    assert_eq!(report.result, eps_core::terminal::TerminalResult::Success);
    assert_eq!(report.totals.len(), 2);
    assert_eq!(
        report.totals[0].amount,
        Amount::parse("61.40", chf).unwrap()
    );
}
