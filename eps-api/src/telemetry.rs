//! Log output: `tracing` to stderr, as text or JSON lines, filtered by `RUST_LOG` or the config.
//!
//! Every line passes card-number masking on its way out ([`MaskingWriter`]): whatever a terminal
//! sent and some error message quoted, a full card number never reaches the log.

use std::io::{self, Write};

use eps_core::redact::mask_pans;
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogConfig, LogFormat};

pub mod metrics;

/// Installs the global subscriber; a second call does nothing.
pub fn init(log: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layer(log.format, ansi, io::stderr))
        .try_init();
}

/// The formatting layer `eps serve` logs through: `format` lines, masked by [`MaskingWriter`],
/// to the writers `make` makes. (The e2e harness captures the EPS's logs through this layer.)
pub fn layer<S, M>(
    format: LogFormat,
    ansi: bool,
    make: M,
) -> Box<dyn Layer<S> + Send + Sync + 'static>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    M: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(MaskingWriter::new(make));
    match format {
        LogFormat::Text => Box::new(fmt),
        LogFormat::Json => Box::new(fmt.json()),
    }
}

/// Makes writers that mask card numbers in each formatted log line before it reaches `inner`.
#[derive(Debug, Clone)]
pub struct MaskingWriter<M> {
    inner: M,
}

impl<M> MaskingWriter<M> {
    /// Masks what goes to the writers `inner` makes.
    pub fn new(inner: M) -> Self {
        Self { inner }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for MaskingWriter<M> {
    type Writer = MaskedLine<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedLine {
            inner: self.inner.make_writer(),
            line: Vec::new(),
        }
    }
}

/// One log event's writer: collects the formatted event and writes it masked, in one piece,
/// when flushed or dropped.
#[derive(Debug)]
pub struct MaskedLine<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> MaskedLine<W> {
    fn write_out(&mut self) -> io::Result<()> {
        if self.line.is_empty() {
            return Ok(());
        }
        let masked = mask_line(&String::from_utf8_lossy(&self.line));
        self.line.clear();
        self.inner.write_all(masked.as_bytes())
    }
}

impl<W: Write> Write for MaskedLine<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for MaskedLine<W> {
    fn drop(&mut self) {
        // Logging must not fail the caller; a line that cannot be written is lost either way.
        let _ = self.write_out();
    }
}

/// Masks a log line; colour codes (text format on a terminal) are left out of the masking, so
/// a code's letter never hides a card number that follows it.
fn mask_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("\u{1b}[") {
        out.push_str(&mask_pans(&rest[..start]));
        let code = &rest[start..];
        let end = code
            .char_indices()
            .skip(2)
            .find(|(_, c)| c.is_ascii_alphabetic())
            .map_or(code.len(), |(i, c)| i + c.len_utf8());
        out.push_str(&code[..end]);
        rest = &code[end..];
    }
    out.push_str(&mask_pans(rest));
    out
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn log_lines_are_masked_even_when_written_in_pieces() {
        let captured = Captured::default();
        let sink = captured.clone();
        let writer = MaskingWriter::new(move || sink.clone());
        {
            let mut line = writer.make_writer();
            // A card number split across two writes is still one run.
            line.write_all(b"terminal said: card 41111111").unwrap();
            line.write_all(b"11111111 refused at 2026-01-05T09:00:00Z\n")
                .unwrap();
        }
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "terminal said: card 411111******1111 refused at 2026-01-05T09:00:00Z\n"
        );
    }

    #[test]
    fn colour_codes_do_not_hide_card_numbers() {
        assert_eq!(
            mask_line("\u{1b}[3mtext\u{1b}[0m\u{1b}[2m=\u{1b}[0m4111111111111111 ok"),
            "\u{1b}[3mtext\u{1b}[0m\u{1b}[2m=\u{1b}[0m411111******1111 ok"
        );
    }

    #[test]
    fn a_subscriber_with_the_writer_masks_event_fields() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(MaskingWriter::new(move || sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(text = "Karte 5500 0000 0000 0004", "terminal error");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("550000******0004"), "{text}");
        assert!(!text.contains("5500 0000 0000 0004"), "{text}");
    }
}
