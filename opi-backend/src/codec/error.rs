//! The codec's errors: one enum per layer (framing, reading XML, writing XML).

/// Why the byte stream cannot be cut into frames. The stream is unusable afterwards: close it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix is 0: OPI frames always carry an XML body.
    #[error("frame length prefix is 0")]
    ZeroLength,
    /// The length prefix exceeds the configured maximum; nothing was allocated for it.
    #[error("frame of {declared} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The length the prefix announced.
        declared: u64,
        /// The configured maximum.
        max: usize,
    },
    /// The stream ended in the middle of a frame.
    #[error("stream ended inside a frame: {buffered} of {needed} bytes received")]
    Truncated {
        /// Bytes received for the frame (prefix included).
        buffered: usize,
        /// Bytes the frame needs (prefix included).
        needed: usize,
    },
}

/// Where a decode problem is, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The XML is not well-formed.
    #[error("malformed XML at byte {position}: {message}")]
    Malformed {
        /// Offset in the decoded (UTF-8) text where the problem was found.
        position: u64,
        /// What the XML parser reported.
        message: String,
    },
    /// The document exceeds a safety limit (depth, attributes, elements).
    #[error("XML exceeds the limit of {limit} {what} at byte {position}")]
    LimitExceeded {
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: usize,
        /// Offset in the decoded text.
        position: u64,
    },
    /// The root element is not an OPI message.
    #[error("unknown root element <{0}>")]
    UnknownRoot(String),
    /// A required attribute is missing.
    #[error("<{element}> at byte {position} lacks the required attribute {attribute}")]
    MissingAttribute {
        /// The element.
        element: String,
        /// The attribute.
        attribute: &'static str,
        /// Offset of the element in the decoded text.
        position: u64,
    },
    /// A required child element is missing.
    #[error("<{element}> at byte {position} lacks the required child <{child}>")]
    MissingElement {
        /// The parent element.
        element: String,
        /// The missing child.
        child: &'static str,
        /// Offset of the parent in the decoded text.
        position: u64,
    },
    /// A value cannot be read.
    #[error("<{element}> at byte {position}: {field} {value:?} is invalid: {reason}")]
    InvalidValue {
        /// The element.
        element: String,
        /// The attribute or child holding the value.
        field: String,
        /// The value as sent.
        value: String,
        /// Why it was refused.
        reason: String,
        /// Offset of the element in the decoded text.
        position: u64,
    },
}

/// Why a message cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A text holds a character XML 1.0 cannot carry (a control character other than tab, line
    /// feed or carriage return, or U+FFFE/U+FFFF).
    #[error("{field} holds U+{code:04X}, which XML 1.0 cannot carry")]
    InvalidCharacter {
        /// The element or attribute.
        field: &'static str,
        /// The character's code point.
        code: u32,
    },
    /// An amount's split (`PaymentAmount`, …) is in another currency than the amount itself.
    #[error("{field} is in {found:?} but the amount is in {expected:?}")]
    CurrencyMismatch {
        /// The split attribute.
        field: &'static str,
        /// The main amount's currency.
        expected: Option<String>,
        /// The split's currency.
        found: Option<String>,
    },
    /// A kept vendor element or attribute has a name this writer cannot write.
    #[error("{0:?} is not a plain XML name")]
    InvalidName(String),
    /// The body does not fit the 4-byte length prefix.
    #[error("body of {0} bytes does not fit a 4-byte length prefix")]
    TooLarge(usize),
}
