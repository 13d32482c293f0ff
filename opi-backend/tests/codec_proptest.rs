//! Arbitrary typed messages survive encode → frame → decode unchanged, in both charsets.

use eps_core::money::{Amount, Currency};
use opi_backend::codec::{self, FrameDecoder, WriteOptions};
use opi_backend::message::*;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

/// Any text XML 1.0 can carry, short.
fn text() -> BoxedStrategy<String> {
    "[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\u{FFFE}\u{FFFF}]{0,12}".boxed()
}

/// Text as read from places that are trimmed (typed leaves, enumerations).
fn trimmed() -> BoxedStrategy<String> {
    text().prop_map(|s| s.trim().to_owned()).boxed()
}

fn non_empty_trimmed() -> BoxedStrategy<String> {
    "[A-Za-z0-9][A-Za-z0-9 :.+-]{0,20}[A-Za-z0-9]".boxed()
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    of(text())
}

fn opt_trimmed() -> impl Strategy<Value = Option<String>> {
    of(trimmed())
}

fn name() -> BoxedStrategy<String> {
    "[A-Z_][A-Za-z0-9_.-]{0,10}".boxed()
}

/// An enumeration value: a known one, or `Other` holding something unknown.
fn wire_enum<T: Clone + std::fmt::Debug + 'static>(
    known: &'static [T],
    parse: fn(&str) -> T,
    is_other: fn(&T) -> bool,
) -> impl Strategy<Value = T> {
    prop_oneof![
        3 => proptest::sample::select(known),
        1 => "[A-Za-z][A-Za-z-]{0,15}".prop_map(move |s| parse(&s)).prop_filter("unknown", is_other),
    ]
}

fn overall_result() -> BoxedStrategy<OverallResult> {
    wire_enum(OverallResult::KNOWN, OverallResult::parse, |v| {
        matches!(v, OverallResult::Other(_))
    })
    .boxed()
}

fn device_target() -> BoxedStrategy<DeviceTarget> {
    wire_enum(DeviceTarget::KNOWN, DeviceTarget::parse, |v| {
        matches!(v, DeviceTarget::Other(_))
    })
    .boxed()
}

fn request_id() -> BoxedStrategy<RequestId> {
    "[^\\x00-\\x1F\\x7F-\\x9F\u{FFFE}\u{FFFF}]{1,20}"
        .prop_map(|s| RequestId::parse(&s).unwrap())
        .boxed()
}

fn timestamp() -> BoxedStrategy<Timestamp> {
    "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{3})?(Z|[+-][01][0-9]:00)?"
        .prop_map(|s| Timestamp::parse(&s).unwrap())
        .boxed()
}

fn header() -> BoxedStrategy<Header> {
    (
        request_id(),
        text(),
        (opt_text(), opt_text(), opt_text()),
        (opt_text(), opt_text(), opt_text()),
    )
        .prop_map(
            |(request_id, workstation_id, (a, b, c), (d, e, f))| Header {
                request_id,
                workstation_id,
                application_sender: a,
                pop_id: b,
                reference_number: c,
                terminal_id: d,
                sequence_id: e,
                reference_request_id: f,
            },
        )
        .boxed()
}

#[derive(Debug, Clone)]
enum CurrencyMode {
    Known(Currency),
    Raw(Option<String>),
}

fn currency_mode() -> BoxedStrategy<CurrencyMode> {
    prop_oneof![
        proptest::sample::select(vec!["EUR", "CHF", "JPY", "KWD", "CLF"])
            .prop_map(|c| CurrencyMode::Known(Currency::parse(c).unwrap())),
        of(proptest::sample::select(vec![
            "978", "XYZ", "EURO", "E U R"
        ]))
        .prop_map(|c| CurrencyMode::Raw(c.map(str::to_owned))),
    ]
    .boxed()
}

fn amount_in(mode: CurrencyMode) -> BoxedStrategy<MonetaryAmount> {
    match mode {
        CurrencyMode::Known(currency) => (0..=Amount::MAX_MINOR)
            .prop_map(move |m| MonetaryAmount::Known(Amount::from_minor(m, currency).unwrap()))
            .boxed(),
        CurrencyMode::Raw(code) => "-?[0-9]{1,9}(\\.[0-9]{1,4})?"
            .prop_map(move |v| MonetaryAmount::Raw {
                value: Decimal::parse(&v).unwrap(),
                currency: code.clone(),
            })
            .boxed(),
    }
}

fn total_amount() -> BoxedStrategy<TotalAmount> {
    currency_mode()
        .prop_flat_map(|mode| {
            (
                amount_in(mode.clone()),
                of(amount_in(mode.clone())),
                of(amount_in(mode.clone())),
                of(amount_in(mode.clone())),
                of(amount_in(mode)),
            )
                .prop_map(|(amount, p, c, g, o)| TotalAmount {
                    amount,
                    payment_amount: p,
                    cash_back_amount: c,
                    gratuity_amount: g,
                    original_amount: o,
                })
        })
        .boxed()
}

fn pos_data() -> BoxedStrategy<PosData> {
    let status = || {
        of(wire_enum(
            PeripheralStatus::KNOWN,
            PeripheralStatus::parse,
            |v| matches!(v, PeripheralStatus::Other(_)),
        ))
    };
    (
        (opt_text(), of(timestamp()), opt_trimmed(), opt_trimmed()),
        (opt_trimmed(), opt_trimmed()),
        of(wire_enum(
            DiagnosisMethod::KNOWN,
            DiagnosisMethod::parse,
            |v| matches!(v, DiagnosisMethod::Other(_)),
        )),
        (status(), status(), status()),
    )
        .prop_map(
            |((lc, ts, shift, clerk), (tx, reference), diag, (p, j, e))| PosData {
                language_code: lc,
                timestamp: ts,
                shift_number: shift,
                clerk_id: clerk,
                transaction_number: tx,
                reference,
                diagnosis_method: diag,
                printer_status: p,
                journal_printer_status: j,
                e_journal_status: e,
            },
        )
        .boxed()
}

fn raw_element(depth: u32) -> BoxedStrategy<RawElement> {
    let leaf =
        (name(), vec((name(), text()), 0..3), text()).prop_map(|(name, attrs, text)| RawElement {
            name,
            attributes: dedup(attrs),
            children: Vec::new(),
            text,
        });
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        leaf,
        (name(), vec(raw_element(depth - 1), 1..3), trimmed()).prop_map(
            |(name, children, text)| {
                RawElement {
                    name,
                    attributes: Vec::new(),
                    children,
                    text,
                }
            }
        )
    ]
    .boxed()
}

fn dedup(attrs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    attrs
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect()
}

fn private_data() -> BoxedStrategy<PrivateData> {
    prop_oneof![
        text().prop_map(|text| PrivateData {
            text,
            elements: Vec::new()
        }),
        (trimmed(), vec(raw_element(2), 1..4))
            .prop_map(|(text, elements)| PrivateData { text, elements }),
    ]
    .boxed()
}

fn authorisation() -> BoxedStrategy<Authorisation> {
    (
        (
            opt_text(),
            of(text().prop_map(CardPan::new)),
            opt_text(),
            of(timestamp()),
        ),
        (opt_text(), opt_text(), opt_text(), opt_text()),
        (opt_text(), opt_text(), opt_text(), opt_text(), opt_text()),
    )
        .prop_map(
            |((acq, pan, merchant, ts), (ac, rc, approval, circuit), (rn, at, exp, tok, cv))| {
                Authorisation {
                    acquirer_id: acq,
                    card_pan: pan,
                    merchant,
                    timestamp: ts,
                    action_code: ac,
                    return_code: rc,
                    approval_code: approval,
                    card_circuit: circuit,
                    receipt_number: rn,
                    authorisation_type: at,
                    expiry_date: exp,
                    token: tok,
                    card_verification: cv,
                }
            },
        )
        .boxed()
}

fn terminal_info() -> BoxedStrategy<TerminalInfo> {
    (opt_text(), opt_text(), opt_text(), opt_text())
        .prop_map(|(a, b, c, d)| TerminalInfo {
            terminal_id: a,
            terminal_batch: b,
            stan: c,
            merchant_id: d,
        })
        .boxed()
}

fn original_header() -> BoxedStrategy<OriginalHeader> {
    (
        non_empty_trimmed(),
        request_id(),
        opt_text(),
        opt_text(),
        opt_text(),
        of(overall_result()),
    )
        .prop_map(
            |(request_type, request_id, ws, pop, sender, result)| OriginalHeader {
                request_type,
                request_id,
                workstation_id: ws,
                pop_id: pop,
                application_sender: sender,
                overall_result: result,
            },
        )
        .boxed()
}

fn diagnosis() -> BoxedStrategy<DeclineDiagnosis> {
    (opt_text(), opt_text())
        .prop_map(|(t, h)| DeclineDiagnosis {
            terminal_decline_reason: t,
            host_decline_reason: h,
        })
        .boxed()
}

fn card_service_request() -> BoxedStrategy<Message> {
    let original = (
        opt_text(),
        opt_text(),
        opt_text(),
        of(timestamp()),
        opt_text(),
        opt_text(),
    )
        .prop_map(|(t, b, s, ts, a, r)| OriginalTransaction {
            terminal_id: t,
            terminal_batch: b,
            stan: s,
            timestamp: ts,
            approval_code: a,
            tracking_reference: r,
        });
    (
        header(),
        wire_enum(CardRequestType::KNOWN, CardRequestType::parse, |v| {
            matches!(v, CardRequestType::Other(_))
        }),
        of(pos_data()),
        of(total_amount()),
        of(original),
        of(private_data()),
    )
        .prop_map(|(header, request_type, pos, total, original, private)| {
            Message::CardServiceRequest(CardServiceRequest {
                header,
                request_type,
                pos_data: pos,
                total_amount: total,
                original_transaction: original,
                private_data: private,
            })
        })
        .boxed()
}

fn card_service_response() -> BoxedStrategy<Message> {
    let tender = (of(total_amount()), of(authorisation())).prop_map(|(t, a)| Tender {
        total_amount: t,
        authorisation: a,
    });
    let card_value = (
        opt_trimmed(),
        opt_trimmed(),
        of(trimmed().prop_map(CardPan::new)),
        opt_trimmed(),
    )
        .prop_map(|(c, e, p, t)| CardValue {
            card_circuit: c,
            expiry_date: e,
            card_pan: p,
            token: t,
        });
    (
        (
            header(),
            wire_enum(CardRequestType::KNOWN, CardRequestType::parse, |v| {
                matches!(v, CardRequestType::Other(_))
            }),
            overall_result(),
        ),
        (of(terminal_info()), of(tender), of(card_value)),
        (of(original_header()), of(diagnosis()), of(private_data())),
    )
        .prop_map(
            |((header, request_type, result), (terminal, tender, card), (oh, d, p))| {
                Message::CardServiceResponse(CardServiceResponse {
                    header,
                    request_type,
                    overall_result: result,
                    terminal,
                    tender,
                    card_value: card,
                    original_header: oh,
                    diagnosis: d,
                    private_data: p,
                })
            },
        )
        .boxed()
}

fn service_request_type() -> BoxedStrategy<ServiceRequestType> {
    wire_enum(ServiceRequestType::KNOWN, ServiceRequestType::parse, |v| {
        matches!(v, ServiceRequestType::Other(_))
    })
    .boxed()
}

fn service_request() -> BoxedStrategy<Message> {
    (
        header(),
        service_request_type(),
        of(pos_data()),
        of(private_data()),
    )
        .prop_map(|(header, request_type, pos, private)| {
            Message::ServiceRequest(ServiceRequest {
                header,
                request_type,
                pos_data: pos,
                private_data: private,
            })
        })
        .boxed()
}

fn reconciliation() -> BoxedStrategy<Reconciliation> {
    let line = currency_mode().prop_flat_map(|mode| {
        (
            amount_in(mode.clone()),
            of(any::<u32>()),
            (opt_text(), opt_text(), opt_text()),
            of(any::<u32>()),
            of(amount_in(mode)),
        )
            .prop_map(|(amount, n, (pt, cc, acq), held, amount_held)| {
                ReconciliationTotal {
                    amount,
                    number_payments: n,
                    payment_type: pt,
                    card_circuit: cc,
                    acquirer: acq,
                    number_held: held,
                    amount_held,
                }
            })
    });
    (opt_text(), vec(line, 0..4))
        .prop_map(|(language_code, totals)| Reconciliation {
            language_code,
            totals,
        })
        .boxed()
}

fn service_response() -> BoxedStrategy<Message> {
    let circuit = (non_empty_trimmed(), opt_text())
        .prop_map(|(code, display_name)| CardCircuit { code, display_name });
    (
        (header(), service_request_type(), overall_result()),
        (
            of(terminal_info()),
            of(authorisation()),
            of(reconciliation()),
        ),
        (
            vec(circuit, 0..3),
            of(original_header()),
            of(diagnosis()),
            of(private_data()),
        ),
    )
        .prop_map(
            |((header, request_type, result), (t, a, r), (c, oh, d, p))| {
                Message::ServiceResponse(ServiceResponse {
                    header,
                    request_type,
                    overall_result: result,
                    terminal: t,
                    authorisation: a,
                    reconciliation: r,
                    card_circuits: c,
                    original_header: oh,
                    diagnosis: d,
                    private_data: p,
                })
            },
        )
        .boxed()
}

fn device_request_type() -> BoxedStrategy<DeviceRequestType> {
    wire_enum(DeviceRequestType::KNOWN, DeviceRequestType::parse, |v| {
        matches!(v, DeviceRequestType::Other(_))
    })
    .boxed()
}

fn text_line() -> BoxedStrategy<TextLine> {
    (
        text(),
        (
            of(any::<u32>()),
            of(any::<u32>()),
            of(any::<bool>()),
            of(any::<u32>()),
        ),
        (
            opt_text(),
            opt_text(),
            opt_text(),
            opt_text(),
            of(any::<bool>()),
        ),
    )
        .prop_map(
            |(text, (row, column, erase, timeout), (al, cs, h, w, cut))| TextLine {
                text,
                row,
                column,
                erase,
                timeout,
                alignment: al,
                char_style: cs,
                height: h,
                width: w,
                paper_cut: cut,
                echo: None,
                hidden: None,
            },
        )
        .boxed()
}

fn output() -> BoxedStrategy<Output> {
    (
        device_target(),
        opt_text(),
        (
            of(any::<bool>()),
            of(any::<bool>()),
            of(any::<bool>()),
            of(any::<u32>()),
        ),
        vec(text_line(), 0..4),
    )
        .prop_map(|(target, ticket_type, (i, c, s, t), lines)| Output {
            target,
            ticket_type,
            immediate: i,
            complete: c,
            input_synchronize: s,
            timeout: t,
            text_lines: lines,
        })
        .boxed()
}

fn input() -> BoxedStrategy<Input> {
    (
        device_target(),
        wire_enum(InputCommandKind::KNOWN, InputCommandKind::parse, |v| {
            matches!(v, InputCommandKind::Other(_))
        }),
        (
            of(any::<u32>()),
            of(any::<u32>()),
            of(any::<u32>()),
            of(any::<u32>()),
        ),
        (opt_text(), of(any::<u32>())),
    )
        .prop_map(|(target, kind, (l, min, max, d), (sep, t))| Input {
            target,
            command: InputCommand {
                kind,
                length: l,
                min_length: min,
                max_length: max,
                decimals: d,
                separator: sep,
                timeout: t,
            },
        })
        .boxed()
}

fn device_event() -> BoxedStrategy<DeviceEvent> {
    (
        wire_enum(EventType::KNOWN, EventType::parse, |v| {
            matches!(v, EventType::Other(_))
        }),
        of(device_target()),
        of(non_empty_trimmed()),
    )
        .prop_map(|(event_type, target, text)| DeviceEvent {
            event_type,
            target,
            text,
        })
        .boxed()
}

fn device_request() -> BoxedStrategy<Message> {
    (
        header(),
        device_request_type(),
        vec(output(), 0..3),
        of(input()),
        of(device_event()),
        of(private_data()),
    )
        .prop_map(|(header, request_type, outputs, input, event, private)| {
            Message::DeviceRequest(DeviceRequest {
                header,
                request_type,
                outputs,
                input,
                event,
                private_data: private,
            })
        })
        .boxed()
}

fn input_value() -> BoxedStrategy<InputValue> {
    prop_oneof![
        any::<bool>().prop_map(InputValue::Boolean),
        trimmed().prop_map(InputValue::Number),
        text().prop_map(InputValue::String),
        (
            name().prop_filter("not a typed value", |n| {
                !["InBoolean", "InNumber", "InString"]
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(n))
            }),
            text()
        )
            .prop_map(|(name, text)| InputValue::Other { name, text }),
    ]
    .boxed()
}

fn device_response() -> BoxedStrategy<Message> {
    let output_result = (device_target(), overall_result())
        .prop_map(|(target, result)| OutputResult { target, result });
    let input_result = (device_target(), overall_result(), of(input_value())).prop_map(
        |(target, result, value)| InputResult {
            target,
            result,
            value,
        },
    );
    (
        header(),
        device_request_type(),
        overall_result(),
        vec(output_result, 0..3),
        of(input_result),
        of(private_data()),
    )
        .prop_map(|(header, request_type, result, outputs, input, private)| {
            Message::DeviceResponse(DeviceResponse {
                header,
                request_type,
                overall_result: result,
                outputs,
                input,
                private_data: private,
            })
        })
        .boxed()
}

fn message() -> BoxedStrategy<Message> {
    prop_oneof![
        card_service_request(),
        card_service_response(),
        service_request(),
        service_response(),
        device_request(),
        device_response(),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn messages_round_trip_through_frames(message in message(), latin1 in any::<bool>()) {
        let options = if latin1 { WriteOptions::LATIN1 } else { WriteOptions::STRICT };
        let frame = codec::encode(&message, &options).unwrap();
        let mut decoder = FrameDecoder::default();
        decoder.push(&frame);
        let body = decoder.next_frame().unwrap().unwrap();
        prop_assert!(!body.length_recovered());
        prop_assert_eq!(codec::decode(body.body()).unwrap(), message);
    }
}
