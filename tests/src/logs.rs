//! The EPS's logs of the whole e2e suite, captured and searched for what must never be logged.
//!
//! [`install`] (run once by [`crate::init`]) makes a process-wide subscriber that formats every
//! event as `eps serve` does ([`eps_api::telemetry::layer`], card numbers masked), both as JSON
//! and as text, at `debug` for the EPS's crates and `info` for the rest. Each formatted line is
//! kept and searched as it is written for
//! - a JWT (`eyJ….….…`): an access token, issued by the EPS or by a test's external issuer;
//! - a client secret the harness registered ([`register_secret`]), also when the line came
//!   before the registration (every 43-character base64url word is remembered for that);
//! - a whole test card number ([`opi_backend::sim::FULL_PANS`]).
//!
//! [`assert_clean`] fails with every hit so far; `TestApp::stop` calls it, so every test that
//! stops its server checks the suite's logs up to then. A test that installs its own
//! subscriber for its thread (`leaks::LogCapture`) is not seen here.

use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::sync::{Mutex, MutexGuard, OnceLock};

use eps_api::config::LogFormat;
use opi_backend::sim::FULL_PANS;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The length of a client secret: 32 bytes, base64url without padding.
const SECRET_LEN: usize = 43;

/// Lines kept for [`lines_with`] (every line is searched; only the latest are kept).
const KEPT_LINES: usize = 200_000;

/// What the capture holds.
#[derive(Default)]
struct Captured {
    /// The latest lines, JSON and text.
    lines: VecDeque<String>,
    /// Lines that hold something they must not.
    leaks: Vec<String>,
    /// Registered client secrets.
    secrets: HashSet<String>,
    /// Every 43-character base64url word logged, to check secrets registered after the line.
    words: HashSet<String>,
}

fn captured() -> MutexGuard<'static, Captured> {
    static CAPTURED: OnceLock<Mutex<Captured>> = OnceLock::new();
    CAPTURED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Installs the capture as the global subscriber (with a copy to stderr when `TEST_LOG` is set
/// to a filter); false if another global subscriber was there first.
pub fn install() -> bool {
    let filter = || EnvFilter::new("info,eps_api=debug,eps_core=debug,opi_backend=debug");
    let stderr = std::env::var("TEST_LOG").ok().map(|filter| {
        eps_api::telemetry::layer(LogFormat::Text, false, std::io::stderr)
            .with_filter(EnvFilter::new(filter))
    });
    let subscriber = tracing_subscriber::registry()
        .with(eps_api::telemetry::layer(LogFormat::Json, false, Sink).with_filter(filter()))
        .with(eps_api::telemetry::layer(LogFormat::Text, false, Sink).with_filter(filter()))
        .with(stderr);
    tracing::subscriber::set_global_default(subscriber).is_ok()
}

/// Registers a client secret: a line holding it, before or after, is a leak.
pub fn register_secret(secret: &str) {
    let mut captured = captured();
    if captured.words.contains(secret) {
        captured
            .leaks
            .push(format!("a client secret was logged: {}…", &secret[..6]));
    }
    captured.secrets.insert(secret.to_owned());
}

/// Fails with every leak captured so far.
pub fn assert_clean() {
    let captured = captured();
    assert!(
        captured.leaks.is_empty(),
        "the EPS logged what it must never log:\n{}",
        captured.leaks.join("\n")
    );
}

/// The captured lines (JSON and text, the latest [`KEPT_LINES`]) that contain `needle`.
pub fn lines_with(needle: &str) -> Vec<String> {
    captured()
        .lines
        .iter()
        .filter(|l| l.contains(needle))
        .cloned()
        .collect()
}

/// Checks one formatted line and keeps it.
fn record(line: String) {
    let mut captured = captured();
    // What was found, and the words to hide when the leak is reported.
    let mut found: Vec<(String, String)> = Vec::new();
    if let Some(token) = jwt_in(&line) {
        let what = format!("an access token ({}…)", &token[..token.len().min(12)]);
        found.push((what, token.to_owned()));
    }
    for word in base64url_words(&line, SECRET_LEN) {
        if captured.secrets.contains(word) {
            found.push((
                format!("a client secret ({}…)", &word[..6]),
                word.to_owned(),
            ));
        }
        captured.words.insert(word.to_owned());
    }
    for pan in FULL_PANS {
        if line.contains(pan) {
            found.push((
                format!("a whole card number ({}…)", &pan[..6]),
                pan.to_owned(),
            ));
        }
    }
    let mut shown = line.clone();
    for (_, word) in &found {
        shown = shown.replace(word.as_str(), "[hidden]");
    }
    for (what, _) in found {
        captured.leaks.push(format!("{what} in: {shown}"));
    }
    if captured.lines.len() == KEPT_LINES {
        captured.lines.pop_front();
    }
    captured.lines.push_back(line);
}

/// The first JWT-shaped word (`eyJ` + base64url, three dot-separated parts) in `text`.
fn jwt_in(text: &str) -> Option<&str> {
    let is_part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        let candidate = &rest[at..];
        let end = candidate
            .find(|c: char| !is_part(c) && c != '.')
            .unwrap_or(candidate.len());
        let word = &candidate[..end];
        let parts: Vec<&str> = word.split('.').collect();
        if parts.len() == 3 && parts.iter().all(|p| p.len() >= 4) {
            return Some(word);
        }
        rest = &candidate[3..];
    }
    None
}

/// Every maximal run of base64url characters exactly `len` long.
fn base64url_words(text: &str, len: usize) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(move |w| w.len() == len)
}

/// The capture's writer: collects one formatted event and records it when dropped.
#[derive(Default)]
struct Line(Vec<u8>);

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            record(String::from_utf8_lossy(&self.0).trim_end().to_owned());
        }
    }
}

/// Makes a [`Line`] per event.
#[derive(Clone, Copy)]
struct Sink;

impl<'a> MakeWriter<'a> for Sink {
    type Writer = Line;

    fn make_writer(&'a self) -> Self::Writer {
        Line::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_in_text_and_json() {
        let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJwb3MtMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
        assert_eq!(jwt_in(&format!("auth={token} ok")), Some(token));
        assert_eq!(jwt_in(&format!("{{\"t\":\"{token}\"}}")), Some(token));
        assert_eq!(jwt_in("eyJ alone, eyJx.y"), None);
    }

    #[test]
    fn secrets_are_whole_words_of_their_length() {
        let secret = "A".repeat(43);
        let line = format!("x={secret} y={}", "B".repeat(44));
        assert_eq!(
            base64url_words(&line, 43).collect::<Vec<_>>(),
            vec![secret.as_str()]
        );
    }
}
