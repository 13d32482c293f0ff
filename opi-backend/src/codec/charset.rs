//! Character sets: bodies are UTF-8 or ISO-8859-1, whatever the declaration claims.

use std::borrow::Cow;

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

    /// Encodes text already restricted to [`Self::represents`] characters.
    pub(crate) fn encode(self, text: String) -> Vec<u8> {
        match self {
            Self::Utf8 => text.into_bytes(),
            // Every char was checked by `represents`, so it is below U+0100.
            Self::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
        }
    }
}

/// Decodes a body: by its declared encoding; UTF-8 when none is declared; and as Latin-1
/// (windows-1252, a superset of ISO-8859-1's printable range) when UTF-8 decoding fails.
pub(crate) fn decode_text(body: &[u8]) -> Cow<'_, str> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let declared = declared_encoding(body).and_then(Encoding::for_label);
    match declared {
        Some(encoding) if encoding != UTF_8 && encoding.is_ascii_compatible() => {
            encoding.decode_without_bom_handling(body).0
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
