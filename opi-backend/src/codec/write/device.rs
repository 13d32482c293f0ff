//! Writing DeviceRequest and DeviceResponse.

use super::parts::private_data;
use super::root_attrs;
use super::xml::{Attrs, XmlWriter};
use crate::codec::WriteOptions;
use crate::codec::error::EncodeError;
use crate::message::{
    DeviceEvent, DeviceRequest, DeviceResponse, Input, InputResult, InputValue, Output,
};

const REQUEST: &str = "DeviceRequest";
const RESPONSE: &str = "DeviceResponse";

pub(super) fn request(
    w: &mut XmlWriter,
    m: &DeviceRequest,
    options: &WriteOptions,
) -> Result<(), EncodeError> {
    let attrs = root_attrs(options, m.request_type.as_str(), &m.header, None);
    let empty =
        m.outputs.is_empty() && m.input.is_none() && m.event.is_none() && m.private_data.is_none();
    if empty {
        return w.empty(REQUEST, attrs);
    }
    w.open(REQUEST, attrs)?;
    for out in &m.outputs {
        output(w, out)?;
    }
    if let Some(question) = &m.input {
        input(w, question)?;
    }
    if let Some(happened) = &m.event {
        event(w, happened)?;
    }
    if let Some(data) = &m.private_data {
        private_data(w, data)?;
    }
    w.close(REQUEST);
    Ok(())
}

pub(super) fn response(
    w: &mut XmlWriter,
    m: &DeviceResponse,
    options: &WriteOptions,
) -> Result<(), EncodeError> {
    let result = Some(m.overall_result.as_str());
    let attrs = root_attrs(options, m.request_type.as_str(), &m.header, result);
    if m.outputs.is_empty() && m.input.is_none() && m.private_data.is_none() {
        return w.empty(RESPONSE, attrs);
    }
    w.open(RESPONSE, attrs)?;
    for out in &m.outputs {
        let attrs = Attrs::new()
            .req("OutDeviceTarget", out.target.as_str())
            .req("OutResult", out.result.as_str());
        w.empty("Output", attrs)?;
    }
    if let Some(answer) = &m.input {
        input_result(w, answer)?;
    }
    if let Some(data) = &m.private_data {
        private_data(w, data)?;
    }
    w.close(RESPONSE);
    Ok(())
}

fn output(w: &mut XmlWriter, out: &Output) -> Result<(), EncodeError> {
    let attrs = Attrs::new()
        .req("OutDeviceTarget", out.target.as_str())
        .opt("TicketType", out.ticket_type.as_deref())
        .flag("Immediate", out.immediate)
        .flag("Complete", out.complete)
        .flag("InputSynchronize", out.input_synchronize)
        .opt("TimeOut", out.timeout);
    if out.text_lines.is_empty() {
        return w.empty("Output", attrs);
    }
    w.open("Output", attrs)?;
    for line in &out.text_lines {
        let attrs = Attrs::new()
            .opt("Row", line.row)
            .opt("Column", line.column)
            .flag("Erase", line.erase)
            .opt("TimeOut", line.timeout)
            .opt("Alignment", line.alignment.as_deref())
            .opt("CharStyle1", line.char_style.as_deref())
            .opt("Height", line.height.as_deref())
            .opt("Width", line.width.as_deref())
            .flag("PaperCut", line.paper_cut)
            .flag("Echo", line.echo)
            .flag("Hidden", line.hidden);
        w.leaf("TextLine", attrs, &line.text)?;
    }
    w.close("Output");
    Ok(())
}

fn input(w: &mut XmlWriter, question: &Input) -> Result<(), EncodeError> {
    let command = &question.command;
    w.open(
        "Input",
        Attrs::new().req("InDeviceTarget", question.target.as_str()),
    )?;
    let attrs = Attrs::new()
        .opt("Length", command.length)
        .opt("MinLength", command.min_length)
        .opt("MaxLength", command.max_length)
        .opt("Decimals", command.decimals)
        .opt("Separator", command.separator.as_deref())
        .opt("TimeOut", command.timeout);
    w.leaf("Command", attrs, command.kind.as_str())?;
    w.close("Input");
    Ok(())
}

fn event(w: &mut XmlWriter, happened: &DeviceEvent) -> Result<(), EncodeError> {
    let attrs = Attrs::new()
        .req("EventType", happened.event_type.as_str())
        .opt("DeviceTarget", happened.target.as_ref().map(|t| t.as_str()));
    match &happened.text {
        Some(text) => w.leaf("Event", attrs, text),
        None => w.empty("Event", attrs),
    }
}

fn input_result(w: &mut XmlWriter, answer: &InputResult) -> Result<(), EncodeError> {
    let attrs = Attrs::new()
        .req("InDeviceTarget", answer.target.as_str())
        .req("InResult", answer.result.as_str());
    let Some(value) = &answer.value else {
        return w.empty("Input", attrs);
    };
    w.open("Input", attrs)?;
    w.open("InputValue", Attrs::new())?;
    match value {
        InputValue::Boolean(b) => {
            w.leaf("InBoolean", Attrs::new(), if *b { "true" } else { "false" })?;
        }
        InputValue::Number(n) => w.leaf("InNumber", Attrs::new(), n)?,
        InputValue::String(s) => w.leaf("InString", Attrs::new(), s)?,
        InputValue::Other { name, text } => {
            w.raw_tag(name, &[])?;
            w.raw_push(">");
            w.raw_text(text)?;
            w.end_tag(name);
        }
    }
    w.close("InputValue");
    w.close("Input");
    Ok(())
}
