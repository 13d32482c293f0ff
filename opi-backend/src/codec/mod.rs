//! The OPI codec, sans-IO: frames (4-byte big-endian byte count + XML body) and XML ↔ typed
//! [`Message`]s. Writes strictly, reads leniently (research notes §2, "XML dialect quirks").
//!
//! - [`encode`]: message → whole frame (prefix included); [`encode_body`]: the XML alone.
//! - [`FrameDecoder`]: push received bytes, take whole [`Frame`]s out.
//! - [`decode`]: a frame's body → message; [`envelope`]: just its root, to answer what fails;
//!   [`refusal`]: that answer when not even a typed header can be read.

mod charset;
mod error;
mod frame;
mod read;
mod tree;
mod write;

pub use charset::Charset;
pub use error::{DecodeError, EncodeError, FrameError};
pub use frame::{Frame, FrameDecoder, PREFIX_LEN, encode_frame};
pub use tree::{MAX_ATTRIBUTES, MAX_DEPTH, MAX_ELEMENTS};
pub use write::NAMESPACE;

use crate::message::Message;

/// How messages are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// The body's character set, also named in the XML declaration.
    pub charset: Charset,
    /// Whether the root carries `xmlns="http://www.nrf-arts.org/IXRetail/namespace"`.
    pub namespace: bool,
    /// Whether amounts carry their `Currency` attribute (some terminals reject it and take
    /// every amount in their one configured currency).
    pub currency: bool,
}

impl WriteOptions {
    /// UTF-8 with the IXRetail namespace and currencies: what terminals expect unless
    /// configured otherwise.
    pub const STRICT: Self = Self {
        charset: Charset::Utf8,
        namespace: true,
        currency: true,
    };

    /// ISO-8859-1 with the IXRetail namespace and currencies, for terminals configured for
    /// Latin-1.
    pub const LATIN1: Self = Self {
        charset: Charset::Latin1,
        namespace: true,
        currency: true,
    };
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self::STRICT
    }
}

/// A body as text, in the character set it was written in (for traces and logs; no parsing).
pub fn body_text(body: &[u8]) -> String {
    charset::decode_text(body).into_owned()
}

/// Writes `message` as a whole frame: the 4-byte big-endian byte count, then the XML body.
pub fn encode(message: &Message, options: &WriteOptions) -> Result<Vec<u8>, EncodeError> {
    encode_frame(&encode_body(message, options)?)
}

/// Writes `message` as an XML document (no length prefix).
pub fn encode_body(message: &Message, options: &WriteOptions) -> Result<Vec<u8>, EncodeError> {
    write::document(message, options)
}

/// The root of a well-formed body that may not be a valid message: enough to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The root element's local name (`DeviceRequest`, …).
    pub root: String,
    /// `@RequestType`, if present.
    pub request_type: Option<String>,
    /// The root attributes, if `RequestID` is usable.
    pub header: Option<crate::message::Header>,
    /// Every root attribute as sent, by local name (namespace declarations left out).
    pub attributes: Vec<(String, String)>,
}

impl Envelope {
    /// The root's attribute `name` as sent (compared case-insensitively).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether the root is `name` (compared case-insensitively).
    pub fn is(&self, name: &str) -> bool {
        self.root.eq_ignore_ascii_case(name)
    }
}

/// Reads only the root of a well-formed body, so a request [`decode`] refuses can still be
/// answered (for example a DeviceResponse with `OverallResult="FormatError"` echoing its ids).
pub fn envelope(body: &[u8]) -> Result<Envelope, DecodeError> {
    let text = charset::decode_text(body);
    let root = tree::parse(&text)?;
    Ok(Envelope {
        request_type: root.attribute("RequestType").map(|t| t.trim().to_owned()),
        header: read::header(&root).ok(),
        attributes: root.attributes.clone(),
        root: root.name,
    })
}

/// The whole frame answering a well-formed request that [`decode`] refused: the matching response
/// root (`DeviceRequest` → `DeviceResponse`, …) with `result`, echoing whichever of the request's
/// `RequestType`, `WorkstationID`, `POPID`, `RequestID`, `SequenceID` and `TerminalID` it carries.
///
/// For when even the typed header is unreadable (no usable `RequestID`); `None` when the root is
/// not a request.
pub fn refusal(
    envelope: &Envelope,
    result: &crate::message::OverallResult,
    options: &WriteOptions,
) -> Option<Result<Vec<u8>, EncodeError>> {
    write::refusal(envelope, result, options).map(|body| body.and_then(|b| encode_frame(&b)))
}

/// Reads one frame's XML body: by its declared encoding (falling back to Latin-1 when UTF-8 is
/// invalid), ignoring namespaces, accepting the spelling variants terminals send.
pub fn decode(body: &[u8]) -> Result<Message, DecodeError> {
    let text = charset::decode_text(body);
    let root = tree::parse(&text)?;
    read::message(&root)
}
