//! Channel-1 callbacks: turning a DeviceRequest into domain outputs and its DeviceResponse.
//!
//! Every DeviceRequest is answered at once (the terminal blocks until it is), except an Input,
//! which waits for the cashier's answer up to its timeout and then gets the profile's default.

use std::time::Duration;

use eps_core::prompt::{AnswerSecrecy, InputCommand, InputSpec, PromptAnswer};
use eps_core::receipt::ReceiptCopy;
use eps_core::terminal::{DeviceOutput, InputRequest};

use crate::codec::Envelope;
use crate::message::{
    DeviceRequest, DeviceRequestType, DeviceResponse, InputCommandKind, InputResult, InputValue,
    Output, OutputResult, OverallResult,
};
use crate::profile::TerminalProfile;

/// How the outputs of one DeviceRequest went.
pub(crate) struct Outputs {
    /// One result per requested output, in order.
    pub(crate) results: Vec<OutputResult>,
    /// What the domain is told.
    pub(crate) delivered: Vec<DeviceOutput>,
}

/// Routes each output to a display or a receipt copy; `report` makes every print a report
/// (a reconciliation's print-out). Targets that are neither get `DeviceUnavailable`.
pub(crate) fn route_outputs(
    outputs: &[Output],
    profile: &TerminalProfile,
    report: bool,
) -> Outputs {
    let mut results = Vec::with_capacity(outputs.len());
    let mut delivered = Vec::new();
    for output in outputs {
        let target = output.target.as_str().to_owned();
        let lines: Vec<String> = output.text_lines.iter().map(|l| l.text.clone()).collect();
        let printer = output.target.is_printer()
            || profile
                .receipts
                .iter()
                .any(|r| r.target.eq_ignore_ascii_case(&target));
        let result = if profile.is_display(&target) {
            if !lines.is_empty() {
                delivered.push(DeviceOutput::Display { target, lines });
            }
            OverallResult::Success
        } else if printer {
            // No text lines to a printer means "test the printer" (research notes §3.4).
            if !lines.is_empty() {
                let copy = if report {
                    ReceiptCopy::Report
                } else {
                    profile.receipt_copy(&target, output.ticket_type.as_deref())
                };
                delivered.push(DeviceOutput::Receipt {
                    copy,
                    target,
                    lines,
                });
            }
            OverallResult::Success
        } else {
            OverallResult::DeviceUnavailable
        };
        results.push(OutputResult {
            target: output.target.clone(),
            result,
        });
    }
    Outputs { results, delivered }
}

/// The answer to a DeviceRequest whose outputs went as `results` (research notes §3.4: all OK is
/// Success, none OK is DeviceUnavailable, some is PartialFailure).
pub(crate) fn output_response(
    request: &DeviceRequest,
    application_sender: &str,
    results: Vec<OutputResult>,
) -> DeviceResponse {
    let ok = results
        .iter()
        .filter(|r| r.result == OverallResult::Success)
        .count();
    let overall = if ok == results.len() {
        OverallResult::Success
    } else if ok == 0 {
        OverallResult::DeviceUnavailable
    } else {
        OverallResult::PartialFailure
    };
    let mut response = DeviceResponse::new(
        response_header(request, application_sender),
        request.request_type.clone(),
        overall,
    );
    response.outputs = results;
    response
}

/// A bare answer with one result (events, unsupported request types, aborted inputs).
pub(crate) fn plain_response(
    request: &DeviceRequest,
    application_sender: &str,
    result: OverallResult,
) -> DeviceResponse {
    DeviceResponse::new(
        response_header(request, application_sender),
        request.request_type.clone(),
        result,
    )
}

/// The answer to a well-formed DeviceRequest the codec could not read (an unknown attribute
/// value, an `Input` without `Command`, a bad `TimeOut`, …): `FormatError`, "the request cannot
/// be handled or is mistakenly (unknown) formatted" (research notes §3.5, S4), echoing its ids.
/// `None` when the root is no DeviceRequest or its `RequestID` is unusable.
pub(crate) fn format_error_response(
    envelope: &Envelope,
    application_sender: &str,
) -> Option<DeviceResponse> {
    let header = envelope
        .header
        .as_ref()
        .filter(|_| envelope.is("DeviceRequest"))?;
    let mut response_header = header.echo();
    response_header.application_sender = Some(application_sender.to_owned());
    let request_type = DeviceRequestType::parse(envelope.request_type.as_deref().unwrap_or(""));
    Some(DeviceResponse::new(
        response_header,
        request_type,
        OverallResult::FormatError,
    ))
}

/// The question an Input asks, and how long the terminal waits for it.
pub(crate) fn input_request(
    request: &DeviceRequest,
    profile: &TerminalProfile,
) -> Option<(InputRequest, Duration)> {
    let input = request.input.as_ref()?;
    let command = &input.command;
    let timeout = command.timeout.map_or(profile.timers.input, |secs| {
        Duration::from_secs(u64::from(secs))
    });
    let lines = request
        .outputs
        .iter()
        .flat_map(|o| o.text_lines.iter().map(|l| l.text.clone()))
        .collect();
    let spec = InputSpec {
        command: InputCommand::parse(command.kind.as_str()),
        marking: entry_marking(request),
        min_length: command.min_length.or(command.length),
        max_length: command.max_length.or(command.length),
        decimals: command.decimals,
        timeout_secs: u32::try_from(timeout.as_secs()).ok(),
    };
    let request = InputRequest {
        target: input.target.as_str().to_owned(),
        lines,
        spec,
        timeout: time::Duration::try_from(timeout).unwrap_or(time::Duration::MAX),
    };
    Some((request, timeout))
}

/// Whether the answer to `request` must never be written down: an Input asking for a PIN, a
/// `SecureInput`, or an entry the terminal hides (the domain's [`InputSpec::secrecy`]).
pub(crate) fn answer_is_secret(request: &DeviceRequest) -> bool {
    request.input.as_ref().is_some_and(|input| {
        InputCommand::parse(input.command.kind.as_str()).asks_for_pin()
            || entry_marking(request) == AnswerSecrecy::Secret
    })
}

/// How the terminal marked an Input's entry: secret for a `SecureInput` request or a text line
/// that hides the entry (`Echo="false"`, `Hidden="true"`). PIN commands are secret in any case
/// (the domain's [`InputSpec::secrecy`]).
fn entry_marking(request: &DeviceRequest) -> AnswerSecrecy {
    let hidden_line = request
        .outputs
        .iter()
        .flat_map(|o| &o.text_lines)
        .any(|l| l.echo == Some(false) || l.hidden == Some(true));
    if request.request_type == DeviceRequestType::SecureInput || hidden_line {
        AnswerSecrecy::Secret
    } else {
        AnswerSecrecy::Clear
    }
}

/// The answer to an Input: the cashier's answer, or the profile's default when there is none.
pub(crate) fn input_response(
    request: &DeviceRequest,
    application_sender: &str,
    answer: Option<PromptAnswer>,
    profile: &TerminalProfile,
) -> DeviceResponse {
    let is_confirmation = request
        .input
        .as_ref()
        .is_some_and(|i| i.command.kind == InputCommandKind::GetConfirmation);
    let answer = answer.or_else(|| {
        is_confirmation.then_some(PromptAnswer::Confirmation(
            profile.input_default.confirmation,
        ))
    });
    let (result, value) = match answer {
        Some(PromptAnswer::Confirmation(yes)) => {
            (OverallResult::Success, Some(InputValue::Boolean(yes)))
        }
        Some(PromptAnswer::Number(n)) => {
            let separator = request
                .input
                .as_ref()
                .and_then(|i| i.command.separator.as_deref());
            let number = with_separator(&n, separator);
            (OverallResult::Success, Some(InputValue::Number(number)))
        }
        Some(PromptAnswer::Text(t)) => (OverallResult::Success, Some(InputValue::String(t))),
        Some(PromptAnswer::AnyKey) => (OverallResult::Success, None),
        None => (OverallResult::TimedOut, None),
    };
    let mut response = output_response(
        request,
        application_sender,
        request
            .outputs
            .iter()
            .map(|o| OutputResult {
                target: o.target.clone(),
                result: OverallResult::Success,
            })
            .collect(),
    );
    response.overall_result = result.clone();
    response.input = request.input.as_ref().map(|input| InputResult {
        target: input.target.clone(),
        result,
        value,
    });
    response
}

/// A domain number (`12.50`) written with the decimal separator the Input's `Command@Separator`
/// asks for (`12,50`); one character that is not a digit, else the number is left as it is.
fn with_separator(number: &str, separator: Option<&str>) -> String {
    let mut chars = separator.unwrap_or(".").chars();
    match (chars.next(), chars.next()) {
        (Some(sep), None) if sep != '.' && !sep.is_ascii_digit() && !sep.is_control() => {
            number.replace('.', &sep.to_string())
        }
        _ => number.to_owned(),
    }
}

fn response_header(request: &DeviceRequest, application_sender: &str) -> crate::message::Header {
    let mut header = request.header.echo();
    header.application_sender = Some(application_sender.to_owned());
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use crate::message::{DeviceTarget, Header, Input, Message, RequestId, TextLine};

    type WireCommand = crate::message::InputCommand;

    fn request(kind: DeviceRequestType) -> DeviceRequest {
        DeviceRequest::new(Header::new(RequestId::parse("7").unwrap(), "1"), kind)
    }

    #[test]
    fn outputs_map_to_displays_receipts_and_unavailable() {
        let profile = TerminalProfile::default();
        let mut customer = Output::lines(DeviceTarget::Printer, [TextLine::new("Kundenbeleg")]);
        customer.ticket_type = Some("CustomerReceipt".into());
        let outputs = [
            Output::lines(DeviceTarget::CashierDisplay, [TextLine::new("Karte bitte")]),
            customer,
            Output::lines(DeviceTarget::DeliveryBox, [TextLine::new("x")]),
        ];
        let routed = route_outputs(&outputs, &profile, false);
        assert_eq!(routed.delivered.len(), 2);
        assert!(matches!(
            &routed.delivered[1],
            DeviceOutput::Receipt {
                copy: ReceiptCopy::Customer,
                ..
            }
        ));
        let response = output_response(&request(DeviceRequestType::Output), "EPS", routed.results);
        assert_eq!(response.overall_result, OverallResult::PartialFailure);
        assert_eq!(response.outputs[2].result, OverallResult::DeviceUnavailable);
        let report = route_outputs(&outputs[1..2], &profile, true);
        assert!(matches!(
            &report.delivered[0],
            DeviceOutput::Receipt {
                copy: ReceiptCopy::Report,
                ..
            }
        ));
    }

    #[test]
    fn input_defaults_and_answers() {
        let profile = TerminalProfile::default();
        let mut req = request(DeviceRequestType::Input);
        let mut command = WireCommand::new(InputCommandKind::GetConfirmation);
        command.timeout = Some(20);
        req.input = Some(Input {
            target: DeviceTarget::CashierKeyboard,
            command,
        });
        let (asked, timeout) = input_request(&req, &profile).unwrap();
        assert_eq!(timeout, Duration::from_secs(20));
        assert_eq!(asked.spec.command, InputCommand::GetConfirmation);
        assert_eq!(asked.spec.secrecy(), AnswerSecrecy::Clear);
        let defaulted = input_response(&req, "EPS", None, &profile);
        assert_eq!(defaulted.overall_result, OverallResult::Success);
        assert_eq!(
            defaulted.input.unwrap().value,
            Some(InputValue::Boolean(false))
        );
        let yes = input_response(
            &req,
            "EPS",
            Some(PromptAnswer::Confirmation(true)),
            &profile,
        );
        assert_eq!(yes.input.unwrap().value, Some(InputValue::Boolean(true)));
        req.input.as_mut().unwrap().command.kind = InputCommandKind::GetAmount;
        let none = input_response(&req, "EPS", None, &profile);
        assert_eq!(none.overall_result, OverallResult::TimedOut);
    }

    #[test]
    fn secure_inputs_hidden_lines_and_pin_commands_are_secret() {
        let profile = TerminalProfile::default();
        let asked = |request_type, kind, echo| {
            let mut req = request(request_type);
            let mut line = TextLine::new("Code eingeben");
            line.echo = echo;
            req.outputs = vec![Output::lines(DeviceTarget::CashierDisplay, [line])];
            req.input = Some(Input {
                target: DeviceTarget::CashierKeyboard,
                command: WireCommand::new(kind),
            });
            input_request(&req, &profile).unwrap().0.spec.secrecy()
        };
        use DeviceRequestType::{Input as Plain, SecureInput};
        use InputCommandKind::{GetChar, GetPin, ProcessPin};
        assert_eq!(asked(Plain, GetChar, None), AnswerSecrecy::Clear);
        assert_eq!(asked(Plain, GetChar, Some(true)), AnswerSecrecy::Clear);
        assert_eq!(asked(Plain, GetChar, Some(false)), AnswerSecrecy::Secret);
        assert_eq!(asked(SecureInput, GetChar, None), AnswerSecrecy::Secret);
        assert_eq!(asked(Plain, GetPin, None), AnswerSecrecy::Secret);
        assert_eq!(asked(Plain, ProcessPin, None), AnswerSecrecy::Secret);
    }

    #[test]
    fn numbers_are_written_with_the_separator_the_input_asks_for() {
        let profile = TerminalProfile::default();
        let mut req = request(DeviceRequestType::Input);
        let mut command = WireCommand::new(InputCommandKind::GetAmount);
        command.separator = Some(",".into());
        req.input = Some(Input {
            target: DeviceTarget::CashierKeyboard,
            command,
        });
        let answer = Some(PromptAnswer::Number("12.50".into()));
        let response = input_response(&req, "EPS", answer.clone(), &profile);
        assert_eq!(
            response.input.unwrap().value,
            Some(InputValue::Number("12,50".into()))
        );
        // The golden pair: the request asks for `Separator=","`, the answer carries `2,50`.
        let golden = |name: &str| {
            let path = format!(
                "{}/tests/fixtures/strict/{name}.xml",
                env!("CARGO_MANIFEST_DIR")
            );
            std::fs::read(&path).unwrap()
        };
        let Message::DeviceRequest(asked) =
            codec::decode(&golden("device_input_amount_request")).unwrap()
        else {
            panic!("not a DeviceRequest");
        };
        let answer_2_50 = Some(PromptAnswer::Number("2.50".into()));
        let written = codec::encode_body(
            &input_response(&asked, "EPS", answer_2_50, &profile).into(),
            &codec::WriteOptions::STRICT,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(written).unwrap(),
            String::from_utf8(golden("device_input_amount_response")).unwrap()
        );
        for (separator, written) in [(None, "12.50"), (Some("."), "12.50"), (Some(""), "12.50")] {
            req.input.as_mut().unwrap().command.separator = separator.map(str::to_owned);
            let response = input_response(&req, "EPS", answer.clone(), &profile);
            assert_eq!(
                response.input.unwrap().value,
                Some(InputValue::Number(written.into())),
                "{separator:?}"
            );
        }
    }
}
