//! Prompts: display output and input requests a terminal raises, answered through the API.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{ClientId, MerchantId, PoiId, PromptId, TransactionId};
use crate::redact::MaskedText;

/// Whether a prompt only shows text or waits for an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PromptKind {
    /// Text for a display; no answer expected.
    Display,
    /// A question; the terminal waits for the answer.
    Input,
}

impl PromptKind {
    /// The name used in the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Display => "display",
            Self::Input => "input",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Display, Self::Input]
            .into_iter()
            .find(|k| k.as_str() == value)
    }
}

/// Where a prompt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PromptState {
    /// Answered through the API.
    Answered,
    /// The terminal withdrew it, or its transaction ended first.
    Cancelled,
    /// Shown (display prompts).
    Displayed,
    /// Waiting for an answer.
    Open,
    /// Nobody answered in time; the configured default was sent.
    TimedOut,
}

impl PromptState {
    /// The name used in the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Cancelled => "cancelled",
            Self::Displayed => "displayed",
            Self::Open => "open",
            Self::TimedOut => "timedOut",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Answered,
            Self::Cancelled,
            Self::Displayed,
            Self::Open,
            Self::TimedOut,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// What kind of input the terminal asks for and its limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSpec {
    /// The OPI input command (`GetConfirmation`, `GetAmount`, `GetDecimals`, `GetAnyKey`, …).
    pub command: String,
    /// Minimum length of a text answer.
    pub min_length: Option<u32>,
    /// Maximum length of a text answer.
    pub max_length: Option<u32>,
    /// Decimals of a numeric answer.
    pub decimals: Option<u32>,
    /// How long the terminal waits, in seconds.
    pub timeout_secs: Option<u32>,
}

/// An answer to an input prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", content = "value")]
pub enum PromptAnswer {
    /// Any key was pressed.
    AnyKey,
    /// Yes or no.
    Confirmation(bool),
    /// A decimal number, as text.
    Number(String),
    /// Free text.
    Text(String),
}

/// A stored prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptRecord {
    /// Its id.
    pub id: PromptId,
    /// The site.
    pub merchant_id: MerchantId,
    /// The POI whose terminal raised it.
    pub poi_id: PoiId,
    /// The transaction running when it was raised, if any.
    pub transaction_id: Option<TransactionId>,
    /// Display or input.
    pub kind: PromptKind,
    /// The OPI device target (`CashierDisplay`, `CustomerDisplay`, `CashierKeyboard`, …).
    pub device_target: String,
    /// The text lines to show, masked.
    pub lines: Vec<MaskedText>,
    /// For input prompts, what is asked.
    pub input: Option<InputSpec>,
    /// Where it stands.
    pub state: PromptState,
    /// The answer, once given (or the default sent on timeout).
    pub answer: Option<PromptAnswer>,
    /// Who answered.
    pub answered_by: Option<ClientId>,
    /// When it was raised.
    pub created_at: OffsetDateTime,
    /// When the terminal stops waiting.
    pub expires_at: Option<OffsetDateTime>,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}
