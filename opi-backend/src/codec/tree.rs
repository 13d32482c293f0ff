//! XML text → a small element tree, with limits, local names only (namespaces are ignored).

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::error::DecodeError;

/// Deepest element nesting accepted (OPI messages nest about five deep).
pub const MAX_DEPTH: usize = 32;
/// Most attributes accepted on one element (duplicate checks are quadratic).
pub const MAX_ATTRIBUTES: usize = 64;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 20_000;

/// One element: local name, attributes by local name, children and text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) attributes: Vec<(String, String)>,
    pub(crate) children: Vec<Element>,
    /// All text directly inside, concatenated, exactly as sent (entities resolved).
    pub(crate) text: String,
    /// Offset of the start tag in the decoded text.
    pub(crate) position: u64,
}

impl Element {
    /// The attribute `name` (compared case-insensitively).
    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The first child with one of `names` (compared case-insensitively).
    pub(crate) fn child(&self, names: &[&str]) -> Option<&Element> {
        self.children.iter().find(|c| c.is(names))
    }

    /// Every child with one of `names`, in order.
    pub(crate) fn children_named<'a>(
        &'a self,
        names: &'a [&'a str],
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(names))
    }

    /// True if the element's name is one of `names` (compared case-insensitively).
    pub(crate) fn is(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.name.eq_ignore_ascii_case(n))
    }

    /// The text of the first child with one of `names`, trimmed.
    pub(crate) fn child_text(&self, names: &[&str]) -> Option<&str> {
        self.child(names).map(|c| c.text.trim())
    }
}

/// Parses a whole document into its root element.
pub(crate) fn parse(text: &str) -> Result<Element, DecodeError> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.allow_dangling_amp = true;

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|e| DecodeError::Malformed {
            position: reader.error_position(),
            message: e.to_string(),
        })?;
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(malformed(position, "content after the root element"));
            }
            Event::Start(start) => {
                elements += 1;
                check_limits(stack.len() + 1, elements, position)?;
                stack.push(element(&start, position)?);
            }
            Event::Empty(start) => {
                elements += 1;
                check_limits(stack.len() + 1, elements, position)?;
                let done = element(&start, position)?;
                attach(&mut stack, &mut root, done);
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(malformed(position, "end tag without start tag"));
                };
                attach(&mut stack, &mut root, done);
            }
            Event::Text(text) => push_text(&mut stack, &text.xml10_content(), position)?,
            Event::CData(data) => push_text(&mut stack, &data.xml10_content(), position)?,
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match &*reference {
                        "amp" => "&".to_owned(),
                        "lt" => "<".to_owned(),
                        "gt" => ">".to_owned(),
                        "quot" => "\"".to_owned(),
                        "apos" => "'".to_owned(),
                        // Undeclared entities are kept literally rather than refused.
                        other => format!("&{other};"),
                    },
                    Err(e) => return Err(malformed(position, &e.to_string())),
                };
                push_text(&mut stack, &resolved, position)?;
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(malformed(
            reader.buffer_position(),
            "document ends inside an element",
        ));
    }
    root.ok_or_else(|| malformed(0, "no root element"))
}

fn check_limits(depth: usize, elements: usize, position: u64) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(limit("levels of nesting", MAX_DEPTH, position));
    }
    if elements > MAX_ELEMENTS {
        return Err(limit("elements", MAX_ELEMENTS, position));
    }
    Ok(())
}

fn element(start: &BytesStart<'_>, position: u64) -> Result<Element, DecodeError> {
    let name = start.local_name().as_ref().to_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes().with_checks(true) {
        if attributes.len() == MAX_ATTRIBUTES {
            return Err(limit("attributes per element", MAX_ATTRIBUTES, position));
        }
        let attribute = attribute.map_err(|e| malformed(position, &e.to_string()))?;
        let key = attribute.key;
        if key.as_ref() == "xmlns" || key.prefix().is_some_and(|p| p.as_ref() == "xmlns") {
            continue;
        }
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| malformed(position, &e.to_string()))?;
        let key = key.local_name().as_ref().to_owned();
        // `a:x` and `b:x` share the local name `x`: the first one wins, as lookups would.
        if attributes.iter().all(|(seen, _)| *seen != key) {
            attributes.push((key, value.into_owned()));
        }
    }
    Ok(Element {
        name,
        attributes,
        position,
        ..Element::default()
    })
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, done: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(done),
        None => *root = Some(done),
    }
}

fn push_text(stack: &mut [Element], text: &str, position: u64) -> Result<(), DecodeError> {
    match stack.last_mut() {
        Some(parent) => {
            parent.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(malformed(position, "text outside the root element")),
    }
}

fn malformed(position: u64, message: &str) -> DecodeError {
    DecodeError::Malformed {
        position,
        message: message.to_owned(),
    }
}

fn limit(what: &'static str, limit: usize, position: u64) -> DecodeError {
    DecodeError::LimitExceeded {
        what,
        limit,
        position,
    }
}
