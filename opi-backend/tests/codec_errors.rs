//! Bad input gets a clear error value, never a panic.

use eps_core::money::{Amount, Currency};
use opi_backend::codec::{self, DecodeError, EncodeError, MAX_ATTRIBUTES, MAX_DEPTH, WriteOptions};
use opi_backend::message::{
    DeviceRequest, DeviceRequestType, DeviceTarget, Header, Message, MonetaryAmount, Output,
    OverallResult, RequestId, TextLine, TotalAmount,
};

fn decode_err(xml: &str) -> DecodeError {
    codec::decode(xml.as_bytes()).unwrap_err()
}

#[test]
fn malformed_xml_reports_its_position() {
    let xml = "<ServiceRequest RequestType=\"Login\" RequestID=\"1\">\n  <POSdata></POSData>\n</ServiceRequest>";
    match decode_err(xml) {
        DecodeError::Malformed { position, message } => {
            assert!(
                position > 40 && position < 80,
                "position {position}: {message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(decode_err(""), DecodeError::Malformed { .. }));
    assert!(matches!(
        decode_err("<ServiceRequest RequestType=\"Login\" RequestID=\"1\">"),
        DecodeError::Malformed { .. }
    ));
    assert!(matches!(
        decode_err("<A/><B/>"),
        DecodeError::Malformed { .. }
    ));
    assert!(matches!(
        decode_err("<A x=\"1\" x=\"2\"/>"),
        DecodeError::Malformed { .. }
    ));
}

#[test]
fn limits_guard_against_hostile_documents() {
    let deep = format!(
        "<DeviceRequest RequestType=\"Output\" RequestID=\"1\">{}{}</DeviceRequest>",
        "<a>".repeat(MAX_DEPTH),
        "</a>".repeat(MAX_DEPTH)
    );
    assert!(matches!(
        decode_err(&deep),
        DecodeError::LimitExceeded {
            what: "levels of nesting",
            ..
        }
    ));
    let attributes: String = (0..=MAX_ATTRIBUTES)
        .map(|i| format!(" a{i}=\"x\""))
        .collect();
    let wide = format!("<DeviceRequest{attributes}/>");
    assert!(matches!(
        decode_err(&wide),
        DecodeError::LimitExceeded {
            what: "attributes per element",
            ..
        }
    ));
}

#[test]
fn entities_are_not_expanded_beyond_the_predefined_ones() {
    let xml = r#"<?xml version="1.0"?>
<!DOCTYPE lol [<!ENTITY lol "lollollollollollollollollollol">]>
<DeviceRequest RequestType="Output" WorkstationID="1" RequestID="1">
  <Output OutDeviceTarget="Printer"><TextLine>&lol; &amp; &#228;</TextLine></Output>
</DeviceRequest>"#;
    let Message::DeviceRequest(request) = codec::decode(xml.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(request.outputs[0].text_lines[0].text, "&lol; & ä");
}

#[test]
fn missing_and_invalid_values_name_the_element() {
    assert_eq!(
        decode_err("<Hello/>"),
        DecodeError::UnknownRoot("Hello".into())
    );
    assert!(matches!(
        decode_err("<ServiceRequest RequestType=\"Login\"/>"),
        DecodeError::MissingAttribute {
            attribute: "RequestID",
            ..
        }
    ));
    assert!(matches!(
        decode_err("<ServiceRequest RequestID=\"1\"/>"),
        DecodeError::MissingAttribute {
            attribute: "RequestType",
            ..
        }
    ));
    assert!(matches!(
        decode_err("<ServiceResponse RequestType=\"Login\" RequestID=\"1\"/>"),
        DecodeError::MissingAttribute {
            attribute: "OverallResult",
            ..
        }
    ));
    assert!(matches!(
        decode_err(
            "<CardServiceRequest RequestType=\"CardPayment\" RequestID=\"1\"><TotalAmount Currency=\"EUR\">1,00</TotalAmount></CardServiceRequest>"
        ),
        DecodeError::InvalidValue { .. }
    ));
    assert!(matches!(
        decode_err(
            "<DeviceResponse RequestType=\"Input\" RequestID=\"1\" OverallResult=\"Success\"><Input InDeviceTarget=\"CashierKeyboard\" InResult=\"Success\"><InputValue><InBoolean>yes</InBoolean></InputValue></Input></DeviceResponse>"
        ),
        DecodeError::InvalidValue { .. }
    ));
    assert!(matches!(
        decode_err(
            "<DeviceRequest RequestType=\"Input\" RequestID=\"1\"><Input InDeviceTarget=\"CashierKeyboard\"/></DeviceRequest>"
        ),
        DecodeError::MissingElement {
            child: "Command",
            ..
        }
    ));
    assert!(matches!(
        decode_err("<ServiceRequest RequestType=\"Login\" RequestID=\"\"/>"),
        DecodeError::InvalidValue { .. }
    ));
}

#[test]
fn amounts_without_a_usable_currency_keep_their_text() {
    let Message::CardServiceRequest(request) = codec::decode(
        b"<CardServiceRequest RequestType=\"CardPayment\" RequestID=\"1\"><TotalAmount>39.5</TotalAmount></CardServiceRequest>",
    )
    .unwrap() else {
        panic!()
    };
    let amount = request.total_amount.unwrap().amount;
    assert_eq!(amount.amount(), None);
    assert_eq!(amount.value_text(), "39.5");
    assert_eq!(
        amount.amount_or_in(Currency::EUR),
        Some(Amount::from_minor(3950, Currency::EUR).unwrap())
    );
}

fn printer(text: &str) -> Message {
    let mut request = DeviceRequest::new(
        Header::new(RequestId::parse("1").unwrap(), "1"),
        DeviceRequestType::Output,
    );
    request
        .outputs
        .push(Output::lines(DeviceTarget::Printer, [TextLine::new(text)]));
    Message::DeviceRequest(request)
}

#[test]
fn the_writer_refuses_what_xml_cannot_carry() {
    assert_eq!(
        codec::encode(&printer("bell \u{7}"), &WriteOptions::STRICT),
        Err(EncodeError::InvalidCharacter {
            field: "TextLine",
            code: 7
        })
    );
    let mut total = TotalAmount::new(Amount::from_minor(100, Currency::EUR).unwrap());
    total.payment_amount = Some(MonetaryAmount::Known(
        Amount::from_minor(100, Currency::parse("CHF").unwrap()).unwrap(),
    ));
    let mut request = opi_backend::message::CardServiceRequest::new(
        Header::new(RequestId::parse("1").unwrap(), "1"),
        opi_backend::message::CardRequestType::CardPayment,
        Default::default(),
    );
    request.total_amount = Some(total);
    assert!(matches!(
        codec::encode(&request.into(), &WriteOptions::STRICT),
        Err(EncodeError::CurrencyMismatch {
            field: "PaymentAmount",
            ..
        })
    ));
}

#[test]
fn text_survives_escaping_in_both_charsets() {
    let text = " <a href=\"x\">€ & ü\ttab\r\n</a> ";
    for options in [WriteOptions::STRICT, WriteOptions::LATIN1] {
        let message = printer(text);
        let frame = codec::encode(&message, &options).unwrap();
        assert_eq!(codec::decode(&frame[4..]).unwrap(), message);
    }
    let latin1 = codec::encode_body(&printer("€"), &WriteOptions::LATIN1).unwrap();
    assert!(String::from_utf8_lossy(&latin1).contains("&#8364;"));
}

#[test]
fn a_refused_request_still_shows_its_envelope() {
    let body = br#"<DeviceRequest RequestType="Input" WorkstationID="1" RequestID="20550" SequenceID="2"><Input InDeviceTarget="CashierKeyboard"/></DeviceRequest>"#;
    assert!(codec::decode(body).is_err());
    let envelope = codec::envelope(body).unwrap();
    assert_eq!(envelope.root, "DeviceRequest");
    assert_eq!(envelope.request_type.as_deref(), Some("Input"));
    let header = envelope.header.unwrap();
    assert_eq!(header.request_id.as_str(), "20550");
    assert_eq!(header.sequence_id.as_deref(), Some("2"));
    assert!(codec::envelope(b"<broken").is_err());
}

#[test]
fn a_refusal_echoes_whatever_ids_the_request_carries() {
    let body = br#"<DeviceRequest RequestType="Output" WorkstationID="1" SequenceID="2" TerminalID="T&amp;1"><Output/></DeviceRequest>"#;
    let envelope = codec::envelope(body).unwrap();
    assert!(envelope.header.is_none(), "no RequestID");
    let frame = codec::refusal(
        &envelope,
        &OverallResult::FormatError,
        &WriteOptions::STRICT,
    )
    .unwrap()
    .unwrap();
    let body = String::from_utf8(frame[4..].to_vec()).unwrap();
    assert_eq!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeviceResponse xmlns=\"http://www.nrf-arts.org/IXRetail/namespace\" RequestType=\"Output\" WorkstationID=\"1\" SequenceID=\"2\" TerminalID=\"T&amp;1\" OverallResult=\"FormatError\"/>\n"
    );
    let response = codec::envelope(body.as_bytes()).unwrap();
    assert_eq!(response.attribute("terminalid"), Some("T&1"));
    let not_a_request = codec::envelope(br#"<DeviceResponse RequestID="1"/>"#).unwrap();
    assert!(
        codec::refusal(
            &not_a_request,
            &OverallResult::FormatError,
            &WriteOptions::STRICT
        )
        .is_none()
    );
}

#[test]
fn prefixed_attributes_sharing_a_local_name_keep_the_first() {
    let body = br#"<DeviceRequest RequestType="Output" WorkstationID="1" RequestID="1" xmlns:a="urn:a" xmlns:b="urn:b"><PrivateData><Vendor a:Code="1" b:Code="2"/></PrivateData></DeviceRequest>"#;
    let message = codec::decode(body).unwrap();
    let Message::DeviceRequest(request) = &message else {
        panic!()
    };
    let vendor = &request.private_data.as_ref().unwrap().elements[0];
    assert_eq!(vendor.attributes, vec![("Code".to_owned(), "1".to_owned())]);
    let written = codec::encode_body(&message, &WriteOptions::STRICT).unwrap();
    assert_eq!(codec::decode(&written).unwrap(), message);
}
