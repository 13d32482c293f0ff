//! Character sets: bodies are UTF-8 or ISO-8859-1, whatever the declaration claims.

use std::borrow::Cow;
use std::fmt::Write as _;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// The character set a body is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    /// UTF-8, declared `UTF-8` (the default).
    #[default]
    Utf8,
    /// ISO-8859-1, declared `ISO-8859-1`; characters outside it are written as character references.
    Latin1,
}

impl Charset {
    /// The name written in the XML declaration.
    pub fn label(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Latin1 => "ISO-8859-1",
        }
    }

    /// True when `c` is written as itself (not as a character reference) in this charset.
    pub(crate) fn represents(self, c: char) -> bool {
        match self {
            Self::Utf8 => true,
            // U+0080..U+009F are C1 controls in ISO-8859-1 but printable in windows-1252, which
            // many peers really use: write them as references so both read them the same.
            Self::Latin1 => u32::from(c) < 0x80 || (0xA0..=0xFF).contains(&u32::from(c)),
        }
    }

    /// Encodes a document whose text is already restricted to [`Self::represents`] characters.
    pub(crate) fn encode(self, document: String) -> Vec<u8> {
        match self {
            Self::Utf8 => document.into_bytes(),
            Self::Latin1 => {
                // Every char was checked by `represents`, so it is below U+0100.
                let bytes: Vec<u8> = document
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                    .collect();
                if bytes.is_ascii() || std::str::from_utf8(&bytes).is_err() {
                    return bytes;
                }
                // These Latin-1 bytes also read as UTF-8 (`Ã¤` is the bytes of `ä`), and a reader
                // trusts such bytes over the declaration (`decode_text`): write every non-ASCII
                // character as a reference instead. Markup is ASCII, so only text changes.
                let mut ascii = String::with_capacity(document.len() + 16);
                for c in document.chars() {
                    if c.is_ascii() {
                        ascii.push(c);
                    } else {
                        let _ = write!(ascii, "&#{};", u32::from(c));
                    }
                }
                ascii.into_bytes()
            }
        }
    }
}

/// Decodes a body, trusting the bytes over the declaration where they disagree (research notes
/// §2: "the declaration is not always truthful"):
/// - declared UTF-8, or nothing declared: UTF-8, and Latin-1 (windows-1252, a superset of
///   ISO-8859-1's printable range) when the bytes are not valid UTF-8;
/// - declared ISO-8859-1 or another single-byte charset: that charset, unless the bytes hold
///   multi-byte UTF-8 sequences and nothing else non-ASCII, which is UTF-8 mislabelled (a Latin-1
///   text is valid UTF-8 only by accident, e.g. `Ã` followed by `¤`, which real texts do not hold).
pub(crate) fn decode_text(body: &[u8]) -> Cow<'_, str> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let declared = declared_encoding(body).and_then(Encoding::for_label);
    match declared {
        Some(encoding) if encoding != UTF_8 && encoding.is_ascii_compatible() => {
            match std::str::from_utf8(body) {
                Ok(text) if !text.is_ascii() => Cow::Borrowed(text),
                _ => encoding.decode_without_bom_handling(body).0,
            }
        }
        _ => match std::str::from_utf8(body) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => WINDOWS_1252.decode_without_bom_handling(body).0,
        },
    }
}

/// The `encoding="…"` of the XML declaration, if the body starts with one.
fn declared_encoding(body: &[u8]) -> Option<&[u8]> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
    let decl = body[start..].strip_prefix(b"<?xml")?;
    let end = decl.windows(2).position(|w| w == b"?>")?;
    let decl = &decl[..end];
    let at = decl.windows(8).position(|w| w == b"encoding")?;
    let rest = &decl[at + 8..];
    let rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace())?..];
    let rest = rest.strip_prefix(b"=")?;
    let rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace())?..];
    let quote = *rest.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = &rest[1..];
    Some(&value[..value.iter().position(|b| *b == quote)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latin1_declaration_over_utf8_bytes_reads_as_utf8() {
        let body = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Bäckerei €</a>";
        assert_eq!(decode_text(body.as_bytes()), body);
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>B\xE4ckerei</a>";
        assert!(decode_text(latin1).contains("Bäckerei"));
        let undeclared = b"<a>B\xE4ckerei</a>";
        assert!(decode_text(undeclared).contains("Bäckerei"));
    }

    #[test]
    fn latin1_bytes_that_would_read_as_utf8_are_written_as_references() {
        // `Ã¤` in ISO-8859-1 is C3 A4, the UTF-8 bytes of `ä`.
        let written = Charset::Latin1.encode("<a>Ã¤</a>".to_owned());
        assert_eq!(written, b"<a>&#195;&#164;</a>");
        assert_eq!(
            Charset::Latin1.encode("<a>ä</a>".to_owned()),
            b"<a>\xE4</a>"
        );
    }
}
