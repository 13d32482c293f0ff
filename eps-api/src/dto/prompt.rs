//! Prompts: what a terminal shows (display) or asks (input) while it works, and the answers.

use eps_core::prompt::{
    AnswerSecrecy, InputSpec, PromptAnswer, PromptKind, PromptRecord, PromptState,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::status::{StatusReturn, format_timestamp};
use crate::dto::yes_no::YesNo;
use crate::error::{ApiError, ApiResult};

/// Whether a prompt only shows text or waits for an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PromptType {
    /// Text for a display; no answer.
    Display,
    /// A question; the terminal waits for `POST /prompts/{promptID}/response`.
    Input,
}

/// Where a prompt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PromptStateName {
    /// Shown (display prompts).
    Displayed,
    /// Waiting for an answer.
    Open,
    /// Answered through the API.
    Answered,
    /// Nobody answered in time; the terminal got the configured default.
    TimedOut,
    /// Withdrawn, or its transaction ended first.
    Cancelled,
}

/// What an input prompt asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InputBody {
    /// The OPI input command: `GetConfirmation` (answer `confirmation`), `GetAmount` /
    /// `GetDecimals` (answer `number`), `GetAnyKey` (`anyKey`), others (`text`, or `number`).
    pub command: String,
    /// `yes` for a PIN or an entry the terminal hides: the answer goes to the terminal only and
    /// is never stored, so `answer` stays empty once `answered`.
    pub secret: YesNo,
    /// Shortest text answer.
    pub min_length: Option<u32>,
    /// Longest text answer.
    pub max_length: Option<u32>,
    /// Decimals of a number answer.
    pub decimals: Option<u32>,
    /// How long the terminal waits, in seconds, as it said.
    pub timeout_secs: Option<u32>,
}

/// An answer: exactly one of `confirmation`, `number`, `text`, `anyKey`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"confirmation": "yes"}))]
pub struct PromptAnswerBody {
    /// `yes` or `no` (`GetConfirmation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub confirmation: Option<YesNo>,
    /// A decimal number as text, e.g. `"12.50"` (`GetAmount`, `GetDecimals`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_length = 100)]
    pub number: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, max_length = 1000)]
    pub text: Option<String>,
    /// A key was pressed (`GetAnyKey`); must be `yes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub any_key: Option<YesNo>,
}

impl crate::extract::PosReference for PromptAnswerBody {}

impl PromptAnswerBody {
    /// The domain answer; exactly one field must be given.
    pub fn into_domain(self) -> ApiResult<PromptAnswer> {
        let too_long = |field: &str, value: &str, max: usize| {
            (value.chars().count() > max || value.chars().any(char::is_control)).then(|| {
                ApiError::field(
                    field,
                    format!("at most {max} characters, no control characters"),
                )
            })
        };
        let answer = match (self.confirmation, self.number, self.text, self.any_key) {
            (Some(yes), None, None, None) => PromptAnswer::Confirmation(yes.is_yes()),
            (None, Some(number), None, None) => {
                if let Some(err) = too_long("number", &number, 100) {
                    return Err(err);
                }
                PromptAnswer::Number(number)
            }
            (None, None, Some(text), None) => {
                if let Some(err) = too_long("text", &text, 1000) {
                    return Err(err);
                }
                PromptAnswer::Text(text)
            }
            (None, None, None, Some(YesNo::Yes)) => PromptAnswer::AnyKey,
            (None, None, None, Some(YesNo::No)) => {
                return Err(ApiError::field("anyKey", "must be \"yes\""));
            }
            _ => {
                return Err(ApiError::BadRequest(
                    "confirmation, number, text, anyKey: give exactly one".to_owned(),
                ));
            }
        };
        Ok(answer)
    }
}

impl From<&PromptAnswer> for PromptAnswerBody {
    fn from(answer: &PromptAnswer) -> Self {
        match answer {
            PromptAnswer::Confirmation(yes) => Self {
                confirmation: Some(YesNo::from(*yes)),
                ..Self::default()
            },
            PromptAnswer::Number(n) => Self {
                number: Some(n.clone()),
                ..Self::default()
            },
            PromptAnswer::Text(t) => Self {
                text: Some(t.clone()),
                ..Self::default()
            },
            PromptAnswer::AnyKey => Self {
                any_key: Some(YesNo::Yes),
                ..Self::default()
            },
        }
    }
}

/// A prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromptBody {
    /// Its id (`promptAvailableEvent` names it).
    #[serde(rename = "promptID")]
    pub prompt_id: String,
    /// The POI whose terminal raised it.
    #[serde(rename = "poiID")]
    pub poi_id: String,
    /// The transaction running then, if any.
    #[serde(rename = "transactionID")]
    pub transaction_id: Option<String>,
    /// Display or input.
    #[serde(rename = "type")]
    pub prompt_type: PromptType,
    /// The terminal's device target (`CashierDisplay`, `CashierKeyboard`, …).
    pub device_target: String,
    /// The text to show, line by line.
    pub lines: Vec<String>,
    /// What an input prompt asks.
    pub input: Option<InputBody>,
    /// Where it stands.
    pub state: PromptStateName,
    /// The answer, once given; always empty for a `secret` input.
    pub answer: Option<PromptAnswerBody>,
    /// The client that answered.
    #[serde(rename = "answeredBy")]
    pub answered_by: Option<String>,
    /// When it was raised (UTC).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When the terminal stops waiting (UTC): then it gets the configured default answer.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// When it last changed (UTC).
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&PromptRecord> for PromptBody {
    fn from(p: &PromptRecord) -> Self {
        Self {
            prompt_id: p.id.to_string(),
            poi_id: p.poi_id.to_string(),
            transaction_id: p.transaction_id.map(|id| id.to_string()),
            prompt_type: match p.kind {
                PromptKind::Display => PromptType::Display,
                PromptKind::Input => PromptType::Input,
            },
            device_target: p.device_target.clone(),
            lines: p.lines.iter().map(ToString::to_string).collect(),
            input: p.input.as_ref().map(input_body),
            state: match p.state {
                PromptState::Answered => PromptStateName::Answered,
                PromptState::Cancelled => PromptStateName::Cancelled,
                PromptState::Displayed => PromptStateName::Displayed,
                PromptState::Open => PromptStateName::Open,
                PromptState::TimedOut => PromptStateName::TimedOut,
            },
            answer: p.answer.as_ref().map(Into::into),
            answered_by: p.answered_by.as_ref().map(ToString::to_string),
            created_at: format_timestamp(p.created_at),
            expires_at: p.expires_at.map(format_timestamp),
            updated_at: format_timestamp(p.updated_at),
        }
    }
}

fn input_body(spec: &InputSpec) -> InputBody {
    InputBody {
        command: spec.command.to_string(),
        secret: YesNo::from(spec.secrecy() == AnswerSecrecy::Secret),
        min_length: spec.min_length,
        max_length: spec.max_length,
        decimals: spec.decimals,
        timeout_secs: spec.timeout_secs,
    }
}

/// One prompt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PromptResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The prompt.
    pub prompt: PromptBody,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_answer() {
        let parse = |json: serde_json::Value| {
            serde_json::from_value::<PromptAnswerBody>(json)
                .unwrap()
                .into_domain()
        };
        assert_eq!(
            parse(serde_json::json!({"confirmation": "no"})).unwrap(),
            PromptAnswer::Confirmation(false)
        );
        assert_eq!(
            parse(serde_json::json!({"number": "12.50"})).unwrap(),
            PromptAnswer::Number("12.50".into())
        );
        assert_eq!(
            parse(serde_json::json!({"anyKey": "yes"})).unwrap(),
            PromptAnswer::AnyKey
        );
        assert!(parse(serde_json::json!({})).is_err());
        assert!(parse(serde_json::json!({"confirmation": "yes", "text": "x"})).is_err());
        assert!(parse(serde_json::json!({"anyKey": "no"})).is_err());
        let body = PromptAnswerBody::from(&PromptAnswer::Text("hi".into()));
        assert_eq!(
            serde_json::to_value(body).unwrap(),
            serde_json::json!({"text": "hi"})
        );
    }
}
