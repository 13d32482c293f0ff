//! Typed message → XML, strictly: UTF-8 (or ISO-8859-1) with a matching declaration, the IXRetail
//! namespace, `POSdata`, `Authorisation`, amounts with their currency's decimals.

mod card;
mod device;
mod parts;
mod service;
mod xml;

use super::error::EncodeError;
use super::{Envelope, WriteOptions};
use crate::message::{Header, Message, OverallResult};
use xml::{Attrs, XmlWriter};

/// The IXRetail namespace written on every root element.
pub const NAMESPACE: &str = "http://www.nrf-arts.org/IXRetail/namespace";

/// Writes `message` as an XML document in the options' charset.
pub(crate) fn document(message: &Message, options: &WriteOptions) -> Result<Vec<u8>, EncodeError> {
    let mut w = XmlWriter::new(options.charset);
    match message {
        Message::CardServiceRequest(m) => card::request(&mut w, m, options)?,
        Message::CardServiceResponse(m) => card::response(&mut w, m, options)?,
        Message::ServiceRequest(m) => service::request(&mut w, m, options)?,
        Message::ServiceResponse(m) => service::response(&mut w, m, options)?,
        Message::DeviceRequest(m) => device::request(&mut w, m, options)?,
        Message::DeviceResponse(m) => device::response(&mut w, m, options)?,
    }
    Ok(w.finish())
}

/// The root's attributes: namespace, RequestType, the header, then OverallResult if any.
fn root_attrs(
    options: &WriteOptions,
    request_type: &str,
    header: &Header,
    overall_result: Option<&str>,
) -> Attrs {
    Attrs::new()
        .opt("xmlns", options.namespace.then_some(NAMESPACE))
        .req("RequestType", request_type)
        .opt("ApplicationSender", header.application_sender.as_deref())
        .req("WorkstationID", &header.workstation_id)
        .opt("POPID", header.pop_id.as_deref())
        .req("RequestID", header.request_id.as_str())
        .opt("ReferenceNumber", header.reference_number.as_deref())
        .opt("TerminalID", header.terminal_id.as_deref())
        .opt("SequenceID", header.sequence_id.as_deref())
        .opt("ReferenceRequestID", header.reference_request_id.as_deref())
        .opt("OverallResult", overall_result)
}

/// A bare response to a refused request, echoing its root attributes as sent; `None` when the
/// root is not a request.
pub(crate) fn refusal(
    envelope: &Envelope,
    result: &OverallResult,
    options: &WriteOptions,
) -> Option<Result<Vec<u8>, EncodeError>> {
    let root = ["CardServiceResponse", "ServiceResponse", "DeviceResponse"]
        .into_iter()
        .find(|response| envelope.is(&response.replace("Response", "Request")))?;
    let mut w = XmlWriter::new(options.charset);
    let echo = |name| envelope.attribute(name);
    let attrs = Attrs::new()
        .opt("xmlns", options.namespace.then_some(NAMESPACE))
        .req("RequestType", echo("RequestType").unwrap_or_default())
        .req("WorkstationID", echo("WorkstationID").unwrap_or_default())
        .opt("POPID", echo("POPID"))
        .opt("RequestID", echo("RequestID"))
        .opt("SequenceID", echo("SequenceID"))
        .opt("TerminalID", echo("TerminalID"))
        .req("OverallResult", result.as_str());
    Some(w.empty(root, attrs).map(|()| w.finish()))
}
