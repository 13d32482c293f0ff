//! How the simulator writes frames, faults included.

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
    /// A well-framed body that is not XML.
    Garbage,
    /// A length prefix far above any sane maximum, then a little data.
    Oversize,
}
