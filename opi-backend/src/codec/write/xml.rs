//! A minimal, strict XML writer: escapes everything, refuses what XML 1.0 cannot carry, and writes
//! characters outside the target charset as character references.

use std::fmt::Write as _;

use crate::codec::charset::Charset;
use crate::codec::error::EncodeError;

/// Attributes of one element, in the order they are written; `None` values are skipped.
#[derive(Debug, Default)]
pub(super) struct Attrs {
    list: Vec<(&'static str, String)>,
}

impl Attrs {
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Adds `name` when `value` is present.
    pub(super) fn opt(mut self, name: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(value) = value {
            self.list.push((name, value.to_string()));
        }
        self
    }

    /// Adds `name`.
    pub(super) fn req(mut self, name: &'static str, value: impl ToString) -> Self {
        self.list.push((name, value.to_string()));
        self
    }

    /// Adds a boolean as `true`/`false` when present.
    pub(super) fn flag(self, name: &'static str, value: Option<bool>) -> Self {
        self.opt(name, value.map(|v| if v { "true" } else { "false" }))
    }
}

/// Writes an indented document into a string.
#[derive(Debug)]
pub(super) struct XmlWriter {
    out: String,
    charset: Charset,
    depth: usize,
}

impl XmlWriter {
    /// A writer with the XML declaration for `charset` already written.
    pub(super) fn new(charset: Charset) -> Self {
        let mut out = String::with_capacity(1024);
        out.push_str("<?xml version=\"1.0\" encoding=\"");
        out.push_str(charset.label());
        out.push_str("\"?>\n");
        Self {
            out,
            charset,
            depth: 0,
        }
    }

    /// `<name attrs>` and one level deeper.
    pub(super) fn open(&mut self, name: &'static str, attrs: Attrs) -> Result<(), EncodeError> {
        self.tag(name, &attrs)?;
        self.out.push_str(">\n");
        self.depth += 1;
        Ok(())
    }

    /// `</name>` one level up.
    pub(super) fn close(&mut self, name: &'static str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.end_tag(name);
    }

    /// `<name attrs/>`.
    pub(super) fn empty(&mut self, name: &'static str, attrs: Attrs) -> Result<(), EncodeError> {
        self.tag(name, &attrs)?;
        self.out.push_str("/>\n");
        Ok(())
    }

    /// `<name attrs>text</name>` on one line; the text is kept exactly.
    pub(super) fn leaf(
        &mut self,
        name: &'static str,
        attrs: Attrs,
        text: &str,
    ) -> Result<(), EncodeError> {
        self.tag(name, &attrs)?;
        self.out.push('>');
        escape(&mut self.out, text, name, self.charset, false)?;
        self.end_tag(name);
        Ok(())
    }

    /// `<name>text</name>` when `text` is present.
    pub(super) fn opt_leaf(
        &mut self,
        name: &'static str,
        text: Option<&str>,
    ) -> Result<(), EncodeError> {
        match text {
            Some(text) => self.leaf(name, Attrs::new(), text),
            None => Ok(()),
        }
    }

    /// A start tag with a dynamic name (kept vendor elements); names are checked.
    pub(super) fn raw_tag(
        &mut self,
        name: &str,
        attributes: &[(String, String)],
    ) -> Result<(), EncodeError> {
        self.indent();
        self.out.push('<');
        push_name(&mut self.out, name)?;
        for (key, value) in attributes {
            self.out.push(' ');
            push_name(&mut self.out, key)?;
            self.out.push_str("=\"");
            escape(&mut self.out, value, "attribute", self.charset, true)?;
            self.out.push('"');
        }
        Ok(())
    }

    /// `</name>` and a line break.
    pub(super) fn end_tag(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// Raw access for kept vendor elements.
    pub(super) fn raw_text(&mut self, text: &str) -> Result<(), EncodeError> {
        escape(&mut self.out, text, "text", self.charset, false)
    }

    /// Raw access for kept vendor elements.
    pub(super) fn raw_push(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    /// Raw access for kept vendor elements.
    pub(super) fn raw_depth(&mut self, delta: isize) {
        self.depth = self.depth.saturating_add_signed(delta);
    }

    /// Indents for the next tag.
    pub(super) fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    /// The finished document, encoded in the charset.
    pub(super) fn finish(self) -> Vec<u8> {
        self.charset.encode(self.out)
    }

    fn tag(&mut self, name: &'static str, attrs: &Attrs) -> Result<(), EncodeError> {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in &attrs.list {
            let _ = write!(self.out, " {key}=\"");
            escape(&mut self.out, value, key, self.charset, true)?;
            self.out.push('"');
        }
        Ok(())
    }
}

/// Appends `name` if it is a plain XML name (letters, digits, `-`, `_`, `.`; no prefix).
fn push_name(out: &mut String, name: &str) -> Result<(), EncodeError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(EncodeError::InvalidName(name.to_owned()));
    }
    out.push_str(name);
    Ok(())
}

/// Appends `value` escaped for text or a double-quoted attribute.
fn escape(
    out: &mut String,
    value: &str,
    field: &'static str,
    charset: Charset,
    attribute: bool,
) -> Result<(), EncodeError> {
    for c in value.chars() {
        let code = u32::from(c);
        let forbidden =
            (code < 0x20 && !matches!(c, '\t' | '\n' | '\r')) || code == 0xFFFE || code == 0xFFFF;
        if forbidden {
            return Err(EncodeError::InvalidCharacter { field, code });
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\t' | '\n' if attribute => {
                let _ = write!(out, "&#{code};");
            }
            '\r' => out.push_str("&#13;"),
            c if charset.represents(c) => out.push(c),
            _ => {
                let _ = write!(out, "&#{code};");
            }
        }
    }
    Ok(())
}
