//! Element tree → typed message, leniently: names compared case-insensitively, spelling variants
//! accepted, unknown enumeration values kept as `Other`.

mod card;
mod device;
mod parts;
mod service;

pub(crate) use parts::header;

use super::error::DecodeError;
use super::tree::Element;
use crate::message::Message;

/// Reads the typed message held by a document's root element.
pub(crate) fn message(root: &Element) -> Result<Message, DecodeError> {
    let message = if root.is(&["CardServiceRequest"]) {
        Message::CardServiceRequest(card::request(root)?)
    } else if root.is(&["CardServiceResponse"]) {
        Message::CardServiceResponse(card::response(root)?)
    } else if root.is(&["ServiceRequest"]) {
        Message::ServiceRequest(service::request(root)?)
    } else if root.is(&["ServiceResponse"]) {
        Message::ServiceResponse(service::response(root)?)
    } else if root.is(&["DeviceRequest"]) {
        Message::DeviceRequest(device::request(root)?)
    } else if root.is(&["DeviceResponse"]) {
        Message::DeviceResponse(device::response(root)?)
    } else {
        return Err(DecodeError::UnknownRoot(root.name.clone()));
    };
    Ok(message)
}
