//! What operators ask of a terminal outside card operations (Login, Logoff, Diagnosis), and the
//! terminal's health as its backend last observed it.

use time::OffsetDateTime;

use super::TerminalResult;
use crate::redact::MaskedText;

/// A non-financial request an operator sends to a terminal on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TerminalService {
    /// Ask the terminal whether it and its host are working (OPI Diagnosis).
    Diagnosis,
    /// Open the terminal's session (OPI Login, or the profile's session start).
    Login,
    /// End the terminal's session (OPI Logoff, or the profile's session end).
    Logoff,
}

impl TerminalService {
    /// The name used in the API, logs and the audit log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Diagnosis => "diagnosis",
            Self::Login => "login",
            Self::Logoff => "logoff",
        }
    }
}

/// The state of the link to a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// The last attempt to reach the terminal failed.
    Down,
    /// Not tried yet.
    Unknown,
    /// The last request reached the terminal.
    Up,
}

impl LinkState {
    /// The name used in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::Unknown => "unknown",
            Self::Up => "up",
        }
    }
}

/// A Diagnosis the terminal answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosisResult {
    /// When it answered.
    pub at: OffsetDateTime,
    /// What it answered.
    pub result: TerminalResult,
}

/// A terminal's health as the backend last observed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalHealth {
    /// Up, down or not tried yet.
    pub link: LinkState,
    /// Since when the link is in that state.
    pub link_since: Option<OffsetDateTime>,
    /// The last failure talking to the terminal (masked).
    pub last_error: Option<MaskedText>,
    /// Whether the terminal's session is open.
    pub logged_in: bool,
    /// The last Diagnosis it answered.
    pub last_diagnosis: Option<DiagnosisResult>,
}

impl Default for TerminalHealth {
    fn default() -> Self {
        Self {
            link: LinkState::Unknown,
            link_since: None,
            last_error: None,
            logged_in: false,
            last_diagnosis: None,
        }
    }
}

impl TerminalHealth {
    /// Notes the link's state at `now`; `since` moves only when the state changes.
    pub fn note_link(&mut self, link: LinkState, now: OffsetDateTime) {
        if self.link != link {
            self.link = link;
            self.link_since = Some(now);
        }
    }
}
