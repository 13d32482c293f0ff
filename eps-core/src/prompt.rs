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

/// What an input asks for (the OPI `Input/Command`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum InputCommand {
    /// Yes or no.
    GetConfirmation,
    /// An amount.
    GetAmount,
    /// An amount, without a prompt text.
    GetAmountNoPrompt,
    /// A number with decimals.
    GetDecimals,
    /// Any key.
    GetAnyKey,
    /// One character.
    GetChar,
    /// A menu choice.
    GetMenu,
    /// An option key.
    GetOptionKey,
    /// A PIN.
    GetPin,
    /// A PIN to check.
    CheckPin,
    /// A PIN to process.
    ProcessPin,
    /// A card.
    RequestCard,
    /// Card data.
    ReadCard,
    /// Any other command, as the terminal named it.
    Other(String),
}

impl InputCommand {
    const KNOWN: [Self; 13] = [
        Self::GetConfirmation,
        Self::GetAmount,
        Self::GetAmountNoPrompt,
        Self::GetDecimals,
        Self::GetAnyKey,
        Self::GetChar,
        Self::GetMenu,
        Self::GetOptionKey,
        Self::GetPin,
        Self::CheckPin,
        Self::ProcessPin,
        Self::RequestCard,
        Self::ReadCard,
    ];

    /// The OPI name (`GetConfirmation`, `ProcessPIN`, …).
    pub fn as_str(&self) -> &str {
        match self {
            Self::GetConfirmation => "GetConfirmation",
            Self::GetAmount => "GetAmount",
            Self::GetAmountNoPrompt => "GetAmountNoPrompt",
            Self::GetDecimals => "GetDecimals",
            Self::GetAnyKey => "GetAnyKey",
            Self::GetChar => "GetChar",
            Self::GetMenu => "GetMenu",
            Self::GetOptionKey => "GetOptionKey",
            Self::GetPin => "GetPIN",
            Self::CheckPin => "CheckPIN",
            Self::ProcessPin => "ProcessPIN",
            Self::RequestCard => "RequestCard",
            Self::ReadCard => "ReadCard",
            Self::Other(name) => name,
        }
    }

    /// Reads an OPI name, case-insensitively; an unknown one is kept as [`InputCommand::Other`].
    pub fn parse(name: &str) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name))
            .unwrap_or_else(|| Self::Other(name.to_owned()))
    }

    /// True for the commands that ask for a PIN: their answer is always secret.
    pub const fn asks_for_pin(&self) -> bool {
        matches!(self, Self::GetPin | Self::CheckPin | Self::ProcessPin)
    }

    /// True for the commands answered with a decimal number.
    pub const fn takes_number(&self) -> bool {
        matches!(
            self,
            Self::GetAmount | Self::GetAmountNoPrompt | Self::GetDecimals
        )
    }
}

impl From<String> for InputCommand {
    fn from(name: String) -> Self {
        Self::parse(&name)
    }
}

impl From<&str> for InputCommand {
    fn from(name: &str) -> Self {
        Self::parse(name)
    }
}

impl From<InputCommand> for String {
    fn from(command: InputCommand) -> Self {
        command.as_str().to_owned()
    }
}

impl std::fmt::Display for InputCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the answer to an input may be written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AnswerSecrecy {
    /// An ordinary answer: kept with the prompt and shown to whoever may read it.
    #[default]
    Clear,
    /// A PIN or a hidden entry: relayed to the terminal, never stored, journalled, logged,
    /// published or echoed back.
    Secret,
}

/// What kind of input the terminal asks for and its limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSpec {
    /// What is asked.
    pub command: InputCommand,
    /// How the terminal marked the entry: secret for a secure input or input it does not echo.
    /// PIN commands are secret whatever this says (see [`InputSpec::secrecy`]).
    #[serde(default)]
    pub marking: AnswerSecrecy,
    /// Minimum length of a text answer.
    pub min_length: Option<u32>,
    /// Maximum length of a text answer.
    pub max_length: Option<u32>,
    /// Decimals of a numeric answer.
    pub decimals: Option<u32>,
    /// How long the terminal waits, in seconds.
    pub timeout_secs: Option<u32>,
}

impl InputSpec {
    /// Whether the answer may be written down: secret when the terminal marked the entry hidden
    /// or asks for a PIN.
    pub fn secrecy(&self) -> AnswerSecrecy {
        if self.command.asks_for_pin() {
            AnswerSecrecy::Secret
        } else {
            self.marking
        }
    }

    /// The part of `answer` a prompt row may keep: all of it, or nothing for a secret answer
    /// (the row still says that it was answered, and by whom).
    pub fn recordable<'a>(&self, answer: &'a PromptAnswer) -> Option<&'a PromptAnswer> {
        match self.secrecy() {
            AnswerSecrecy::Clear => Some(answer),
            AnswerSecrecy::Secret => None,
        }
    }
}

/// An answer to an input prompt. Its `Debug` form leaves typed values out, so an answer that
/// reaches a log by mistake shows its kind only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl std::fmt::Debug for PromptAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AnyKey => f.write_str("AnyKey"),
            Self::Confirmation(yes) => f.debug_tuple("Confirmation").field(yes).finish(),
            Self::Number(n) => write!(f, "Number(<{} characters>)", n.chars().count()),
            Self::Text(t) => write!(f, "Text(<{} characters>)", t.chars().count()),
        }
    }
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
    /// The answer, once given; never a secret one (see [`InputSpec::recordable`]): such a
    /// prompt is `answered` with `answered_by` set and no answer.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(command: &str, marking: AnswerSecrecy) -> InputSpec {
        InputSpec {
            command: command.into(),
            marking,
            min_length: None,
            max_length: None,
            decimals: None,
            timeout_secs: None,
        }
    }

    #[test]
    fn pin_commands_and_hidden_entries_are_secret() {
        for pin in ["GetPIN", "CheckPIN", "ProcessPIN", "processpin"] {
            assert_eq!(
                spec(pin, AnswerSecrecy::Clear).secrecy(),
                AnswerSecrecy::Secret
            );
        }
        assert_eq!(
            spec("GetChar", AnswerSecrecy::Secret).secrecy(),
            AnswerSecrecy::Secret
        );
        let clear = spec("GetChar", AnswerSecrecy::Clear);
        assert_eq!(clear.secrecy(), AnswerSecrecy::Clear);
        let answer = PromptAnswer::Text("7".into());
        assert_eq!(clear.recordable(&answer), Some(&answer));
        assert_eq!(
            spec("GetPIN", AnswerSecrecy::Clear).recordable(&answer),
            None
        );
    }

    #[test]
    fn commands_keep_their_opi_names_in_storage() {
        let stored = serde_json::to_value(spec("ProcessPIN", AnswerSecrecy::Clear)).unwrap();
        assert_eq!(stored["command"], "ProcessPIN");
        let old: InputSpec = serde_json::from_str(
            r#"{"command":"GetAmount","min_length":null,"max_length":4,"decimals":2,"timeout_secs":30}"#,
        )
        .unwrap();
        assert_eq!(old.command, InputCommand::GetAmount);
        assert_eq!(old.marking, AnswerSecrecy::Clear);
        assert_eq!(
            InputCommand::parse("Vendor"),
            InputCommand::Other("Vendor".into())
        );
    }

    #[test]
    fn answers_do_not_show_their_values_in_debug_output() {
        let shown = format!("{:?}", PromptAnswer::Text("917346".into()));
        assert_eq!(shown, "Text(<6 characters>)");
    }
}
