//! Reading DeviceRequest and DeviceResponse.

use super::parts::{
    boolean, header, invalid, number, overall_result, parse_bool, private_data, request_type,
    required, text,
};
use crate::codec::error::DecodeError;
use crate::codec::tree::Element;
use crate::message::{
    DeviceEvent, DeviceRequest, DeviceRequestType, DeviceResponse, DeviceTarget, EventType, Input,
    InputCommand, InputCommandKind, InputResult, InputValue, Output, OutputResult, OverallResult,
    TextLine,
};

pub(super) fn request(root: &Element) -> Result<DeviceRequest, DecodeError> {
    Ok(DeviceRequest {
        header: header(root)?,
        request_type: DeviceRequestType::parse(request_type(root)?),
        outputs: root
            .children_named(&["Output"])
            .map(output)
            .collect::<Result<_, _>>()?,
        input: root.child(&["Input"]).map(input).transpose()?,
        event: root.child(&["Event"]).map(event).transpose()?,
        private_data: private_data(root),
    })
}

pub(super) fn response(root: &Element) -> Result<DeviceResponse, DecodeError> {
    Ok(DeviceResponse {
        header: header(root)?,
        request_type: DeviceRequestType::parse(request_type(root)?),
        overall_result: overall_result(root)?,
        outputs: root
            .children_named(&["Output"])
            .map(output_result)
            .collect::<Result<_, _>>()?,
        input: root.child(&["Input"]).map(input_result).transpose()?,
        private_data: private_data(root),
    })
}

fn target(element: &Element, name: &'static str) -> Result<DeviceTarget, DecodeError> {
    required(element, name).map(|t| DeviceTarget::parse(t.trim()))
}

fn output(element: &Element) -> Result<Output, DecodeError> {
    Ok(Output {
        target: target(element, "OutDeviceTarget")?,
        ticket_type: text(element, "TicketType"),
        immediate: boolean(element, "Immediate")?,
        complete: boolean(element, "Complete")?,
        input_synchronize: boolean(element, "InputSynchronize")?,
        timeout: number(element, "TimeOut")?,
        text_lines: element
            .children_named(&["TextLine"])
            .map(text_line)
            .collect::<Result<_, _>>()?,
    })
}

fn text_line(element: &Element) -> Result<TextLine, DecodeError> {
    Ok(TextLine {
        text: element.text.clone(),
        row: number(element, "Row")?,
        column: number(element, "Column")?,
        erase: boolean(element, "Erase")?,
        timeout: number(element, "TimeOut")?,
        alignment: text(element, "Alignment"),
        char_style: text(element, "CharStyle1"),
        height: text(element, "Height"),
        width: text(element, "Width"),
        paper_cut: boolean(element, "PaperCut")?,
        echo: boolean(element, "Echo")?,
        hidden: boolean(element, "Hidden")?,
    })
}

fn input(element: &Element) -> Result<Input, DecodeError> {
    let command = element
        .child(&["Command"])
        .ok_or_else(|| DecodeError::MissingElement {
            element: element.name.clone(),
            child: "Command",
            position: element.position,
        })?;
    Ok(Input {
        target: target(element, "InDeviceTarget")?,
        command: InputCommand {
            kind: InputCommandKind::parse(command.text.trim()),
            length: number(command, "Length")?,
            min_length: number(command, "MinLength")?,
            max_length: number(command, "MaxLength")?,
            decimals: number(command, "Decimals")?,
            separator: text(command, "Separator"),
            timeout: number(command, "TimeOut")?,
        },
    })
}

fn event(element: &Element) -> Result<DeviceEvent, DecodeError> {
    let text = element.text.trim();
    Ok(DeviceEvent {
        event_type: EventType::parse(required(element, "EventType")?.trim()),
        target: element
            .attribute("DeviceTarget")
            .map(|t| DeviceTarget::parse(t.trim())),
        text: (!text.is_empty()).then(|| text.to_owned()),
    })
}

fn output_result(element: &Element) -> Result<OutputResult, DecodeError> {
    Ok(OutputResult {
        target: target(element, "OutDeviceTarget")?,
        result: OverallResult::parse(required(element, "OutResult")?.trim()),
    })
}

fn input_result(element: &Element) -> Result<InputResult, DecodeError> {
    let value = match element.child(&["InputValue"]) {
        Some(value) => value.children.first().map(input_value).transpose()?,
        None => None,
    };
    Ok(InputResult {
        target: target(element, "InDeviceTarget")?,
        result: OverallResult::parse(required(element, "InResult")?.trim()),
        value,
    })
}

fn input_value(element: &Element) -> Result<InputValue, DecodeError> {
    let value = element.text.trim();
    Ok(if element.is(&["InBoolean"]) {
        InputValue::Boolean(parse_bool(value).map_err(|e| invalid(element, "InBoolean", value, e))?)
    } else if element.is(&["InNumber"]) {
        InputValue::Number(value.to_owned())
    } else if element.is(&["InString"]) {
        InputValue::String(element.text.clone())
    } else {
        InputValue::Other {
            name: element.name.clone(),
            text: element.text.clone(),
        }
    })
}
