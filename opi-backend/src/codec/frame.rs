//! Framing: a 4-byte big-endian byte count, then the XML body.
//!
//! [`FrameDecoder`] is sans-IO: push whatever bytes arrived, then take whole frames out. Each call
//! first *checks* whether a whole frame is buffered (no copy, no allocation), then *parses* it
//! out, as mini-redis does.

use bytes::{Buf, Bytes, BytesMut};

use super::error::{EncodeError, FrameError};

/// The length of the prefix.
pub const PREFIX_LEN: usize = 4;

/// One frame's body (the XML document, prefix removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    body: Bytes,
    length_recovered: bool,
}

impl Frame {
    /// The XML body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, without copying.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// True when the prefix undercounted the body (a character count) and the end was found by
    /// the root's end tag instead.
    pub fn length_recovered(&self) -> bool {
        self.length_recovered
    }
}

/// Cuts a byte stream into frames, without I/O.
///
/// # Character-count prefixes
/// Some peers write the body's character count instead of its byte count, so a body with non-ASCII
/// UTF-8 text is announced too short. The decoder recovers when it can prove the XML is otherwise
/// complete:
/// - the declared body does not close its root element (no `</Root>` and no self-closing root), and
/// - the root's end tag follows within the bytes received, no further than three times the
///   declared length from the body's start (a UTF-16 character count never undercounts UTF-8
///   bytes by more), and within the maximum frame size.
///
/// Then the frame ends at that end tag, and [`Frame::length_recovered`] says so; ASCII whitespace
/// right after it is skipped before the next prefix (which, below 16 MiB, starts with a zero byte). While the end tag may still arrive, the
/// decoder waits. Limits: a body that is truly cut short waits until the bound is reached or the
/// stream ends ([`FrameDecoder::finish`] then yields it as declared, and XML decoding reports it);
/// a truncated body directly followed by another frame with the same root would be merged with it.
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: BytesMut,
    max_frame: usize,
    skip_whitespace: bool,
    failed: Option<FrameError>,
}

/// Where the next frame ends, as found by [`FrameDecoder::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameSpan {
    body_len: usize,
    recovered: bool,
}

impl FrameDecoder {
    /// The default maximum body size: 1 MiB.
    pub const DEFAULT_MAX_FRAME: usize = 1024 * 1024;

    /// A decoder refusing bodies longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        Self {
            buffer: BytesMut::new(),
            max_frame,
            skip_whitespace: false,
            failed: None,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes received and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The next whole frame, `None` until one is buffered.
    ///
    /// After an error the stream cannot be resynchronised: every later call returns that error.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        if self.skip_whitespace {
            let blanks = self
                .buffer
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            self.buffer.advance(blanks);
            if self.buffer.is_empty() {
                return Ok(None);
            }
            self.skip_whitespace = false;
        }
        match self.check(false) {
            Ok(Some(span)) => Ok(Some(self.parse(span))),
            Ok(None) => Ok(None),
            Err(error) => {
                self.failed = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Call when the stream has ended: the last frame if one is complete as declared (even if its
    /// end could not be recovered), `None` if nothing is left, or [`FrameError::Truncated`].
    pub fn finish(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(frame) = self.next_frame()? {
            return Ok(Some(frame));
        }
        if self.buffer.is_empty() {
            return Ok(None);
        }
        match self.check(true)? {
            Some(span) => Ok(Some(self.parse(span))),
            None => Err(FrameError::Truncated {
                buffered: self.buffer.len(),
                needed: PREFIX_LEN + declared_len(&self.buffer).unwrap_or(0),
            }),
        }
    }

    /// Finds the next frame's end without copying; `at_end` stops waiting for a recovery.
    fn check(&self, at_end: bool) -> Result<Option<FrameSpan>, FrameError> {
        let Some(declared) = declared_len(&self.buffer) else {
            return Ok(None);
        };
        if declared == 0 {
            return Err(FrameError::ZeroLength);
        }
        if declared > self.max_frame {
            return Err(FrameError::TooLarge {
                declared: declared as u64,
                max: self.max_frame,
            });
        }
        let available = &self.buffer[PREFIX_LEN..];
        if available.len() < declared {
            return Ok(None);
        }
        let as_declared = FrameSpan {
            body_len: declared,
            recovered: false,
        };
        let Some(root) = root_name(&available[..declared]) else {
            return Ok(Some(as_declared));
        };
        if root_end(&available[..declared], root).is_some() {
            return Ok(Some(as_declared));
        }
        let bound = declared.saturating_mul(3).min(self.max_frame);
        let window = &available[..available.len().min(bound)];
        match root_end(window, root) {
            Some(end) => Ok(Some(FrameSpan {
                body_len: end,
                recovered: true,
            })),
            None if at_end || window.len() >= bound => Ok(Some(as_declared)),
            None => Ok(None),
        }
    }

    /// Takes the frame found by [`Self::check`] out of the buffer.
    fn parse(&mut self, span: FrameSpan) -> Frame {
        self.buffer.advance(PREFIX_LEN);
        let body = self.buffer.split_to(span.body_len).freeze();
        self.skip_whitespace = span.recovered;
        Frame {
            body,
            length_recovered: span.recovered,
        }
    }
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_FRAME)
    }
}

/// Prefixes `body` with its byte count.
pub fn encode_frame(body: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let len = u32::try_from(body.len()).map_err(|_| EncodeError::TooLarge(body.len()))?;
    let mut frame = Vec::with_capacity(PREFIX_LEN + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    Ok(frame)
}

fn declared_len(buffer: &[u8]) -> Option<usize> {
    let prefix: [u8; PREFIX_LEN] = buffer.get(..PREFIX_LEN)?.try_into().ok()?;
    usize::try_from(u32::from_be_bytes(prefix)).ok()
}

/// The root element's (qualified) name.
fn root_name(body: &[u8]) -> Option<&[u8]> {
    let name = &body[root_start(body)? + 1..];
    let len = name
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>')
        .unwrap_or(name.len());
    (len > 0).then(|| &name[..len])
}

/// The offset of the root element's `<`: after an optional BOM, whitespace, the XML declaration,
/// processing instructions, comments and a DOCTYPE.
fn root_start(body: &[u8]) -> Option<usize> {
    let mut at = 0;
    if body.starts_with(b"\xEF\xBB\xBF") {
        at = 3;
    }
    loop {
        at += body[at..].iter().position(|b| !b.is_ascii_whitespace())?;
        let rest = &body[at..];
        let close: &[u8] = if rest.starts_with(b"<?") {
            b"?>"
        } else if rest.starts_with(b"<!--") {
            b"-->"
        } else if rest.starts_with(b"<!") {
            b">"
        } else if rest.starts_with(b"<") {
            return Some(at);
        } else {
            return None;
        };
        at += find(rest, close)? + close.len();
    }
}

/// Where the root element ends (just past its end tag, or its self-closing start tag), if the
/// bytes reach that far.
fn root_end(body: &[u8], root: &[u8]) -> Option<usize> {
    // The root's start tag: up to the first `>` outside quoted attribute values.
    let mut quote = None;
    let mut tag_end = None;
    for (i, &b) in body.iter().enumerate().skip(root_start(body)?) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => {
                tag_end = Some(i);
                break;
            }
            (None, _) => {}
        }
    }
    let tag_end = tag_end?;
    if body[..tag_end].ends_with(b"/") {
        return Some(tag_end + 1);
    }
    let mut from = tag_end + 1;
    while let Some(at) = find(&body[from..], b"</") {
        let name_start = from + at + 2;
        let tail = body[name_start..].strip_prefix(root);
        if let Some(tail) = tail {
            let blanks = tail.iter().take_while(|b| b.is_ascii_whitespace()).count();
            if tail.get(blanks) == Some(&b'>') {
                return Some(name_start + root.len() + blanks + 1);
            }
        }
        from = name_start;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
