//! The OPI trace of a running request: every frame it writes or reads goes to its observer as
//! text, with a secret Input answer (a PIN, a hidden entry) replaced before it leaves the driver.
//! The observer masks card numbers and queues the frame without waiting.

use std::borrow::Cow;

use eps_core::opi_trace::{OpiChannel, SECRET_PLACEHOLDER, TraceDirection, WireFrame};

use super::Running;
use crate::codec::{self, PREFIX_LEN, WriteOptions};
use crate::message::{InputValue, Message};
use crate::session::{Link, Transmit};

/// A frame read on `link` (its body `xml` as read).
pub(super) fn received(run: &Running, link: Link, message: &Message, xml: String) {
    record(run, TraceDirection::In, link, message, xml);
}

/// A frame about to be written: `frame` as encoded, unless its Input answer is secret, then the
/// message is written again for the trace with the answer replaced.
pub(super) fn sent(run: &Running, transmit: &Transmit, frame: &[u8], options: &WriteOptions) {
    if run.observer.is_none() {
        return;
    }
    let secret =
        matches!(transmit.link, Link::Callback(conn) if run.secret_callbacks.contains(&conn));
    let xml = match without_secret(&transmit.message, secret) {
        Cow::Borrowed(_) => codec::body_text(frame.get(PREFIX_LEN..).unwrap_or_default()),
        Cow::Owned(redacted) => match codec::encode_body(&redacted, options) {
            Ok(body) => codec::body_text(&body),
            Err(_) => return,
        },
    };
    record(
        run,
        TraceDirection::Out,
        transmit.link,
        &transmit.message,
        xml,
    );
}

fn record(run: &Running, direction: TraceDirection, link: Link, message: &Message, xml: String) {
    let Some(observer) = &run.observer else {
        return;
    };
    observer.frame(WireFrame {
        direction,
        channel: match link {
            Link::Request | Link::Abort => OpiChannel::Requests,
            Link::Callback(_) => OpiChannel::Devices,
        },
        message: message.root_name().to_owned(),
        request_type: message.request_type().to_owned(),
        xml,
    });
}

/// `message` with its Input answer replaced by [`SECRET_PLACEHOLDER`] when `secret`.
pub(super) fn without_secret(message: &Message, secret: bool) -> Cow<'_, Message> {
    match message {
        Message::DeviceResponse(response)
            if secret && response.input.as_ref().is_some_and(|i| i.value.is_some()) =>
        {
            let mut redacted = response.clone();
            if let Some(input) = redacted.input.as_mut() {
                input.value = Some(InputValue::String(SECRET_PLACEHOLDER.to_owned()));
            }
            Cow::Owned(Message::DeviceResponse(redacted))
        }
        _ => Cow::Borrowed(message),
    }
}
