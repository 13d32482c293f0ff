//! How the simulator writes frames, faults included.

use crate::codec::{self, EncodeError, WriteOptions};
use crate::message::Message;
use crate::profile::WireEncoding;

/// How one message is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireStyle {
    /// The body's encoding.
    pub encoding: WireEncoding,
    /// Whether the root names the IXRetail namespace.
    pub namespace: bool,
    /// Whether the length prefix wrongly counts characters instead of bytes.
    pub char_count_prefix: bool,
}

impl WireStyle {
    /// Correct framing in `encoding`, with the namespace.
    pub const fn strict(encoding: WireEncoding) -> Self {
        Self {
            encoding,
            namespace: true,
            char_count_prefix: false,
        }
    }
}

/// What the simulator writes on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A message, written in a style.
    Message(Box<Message>, WireStyle),
    /// A message written without its `Command` element (an Input that cannot be decoded).
    WithoutCommand(Box<Message>, WireStyle),
    /// A well-framed body that is not XML.
    Garbage,
    /// A length prefix far above any sane maximum, then a little data.
    Oversize,
}

impl Payload {
    /// The bytes on the wire: a frame, or on purpose something that is not one.
    pub fn render(&self) -> Result<Vec<u8>, EncodeError> {
        match self {
            Self::Message(message, style) => {
                let options = WriteOptions {
                    charset: style.encoding.into(),
                    namespace: style.namespace,
                    currency: true,
                };
                let body = codec::encode_body(message, &options)?;
                if !style.char_count_prefix {
                    return codec::encode_frame(&body);
                }
                // The peer bug (research notes §2): the prefix counts characters, not bytes.
                let chars = match style.encoding {
                    WireEncoding::Utf8 => String::from_utf8_lossy(&body).chars().count(),
                    WireEncoding::Latin1 => body.len(),
                };
                let prefix = u32::try_from(chars).map_err(|_| EncodeError::TooLarge(chars))?;
                let mut frame = prefix.to_be_bytes().to_vec();
                frame.extend_from_slice(&body);
                Ok(frame)
            }
            Self::WithoutCommand(message, style) => {
                let options = WriteOptions {
                    charset: style.encoding.into(),
                    namespace: style.namespace,
                    currency: true,
                };
                let mut body = codec::encode_body(message, &options)?;
                let start = find(&body, b"<Command");
                let end = find(&body, b"</Command>").map(|at| at + b"</Command>".len());
                if let (Some(start), Some(end)) = (start, end) {
                    body.drain(start..end);
                }
                codec::encode_frame(&body)
            }
            Self::Garbage => codec::encode_frame(b"\x00\x01 this is not XML \xff\xfe <<<"),
            Self::Oversize => {
                let mut frame = 0x7fff_fff0_u32.to_be_bytes().to_vec();
                frame.extend_from_slice(b"<CardServiceResponse");
                Ok(frame)
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
