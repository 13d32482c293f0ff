//! How a terminal's answer becomes a transaction state. Pure: no I/O, no clock.

use crate::redact::MaskedText;
use crate::terminal::{TerminalResponse, TerminalResult};
use crate::transaction::TransactionState;

/// The state a terminal's answer leads to, with the code and reason to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The new state.
    pub state: TransactionState,
    /// The terminal's result (and error code) as reported.
    pub result_code: String,
    /// Why, for people, when not approved (the terminal's text, masked).
    pub reason: Option<MaskedText>,
}

/// Maps an answer: never infers a decline from something inconclusive.
pub fn verdict(response: &TerminalResponse) -> Verdict {
    let code = match (&response.result, &response.error_code) {
        (result, Some(code)) => format!("{}/{code}", result_name(result)),
        (result, None) => result_name(result).to_owned(),
    };
    let text = response.error_text.as_deref().map(MaskedText::new);
    let (state, reason) = match &response.result {
        TerminalResult::Success => (TransactionState::Approved, None),
        TerminalResult::Failure => (
            TransactionState::Declined,
            Some(text.unwrap_or_else(|| "declined by the terminal".into())),
        ),
        TerminalResult::TimedOut => (
            TransactionState::Declined,
            Some(
                text.unwrap_or_else(|| "the terminal's host did not answer; not authorised".into()),
            ),
        ),
        TerminalResult::Aborted => (
            TransactionState::Aborted,
            Some(text.unwrap_or_else(|| "aborted at the terminal".into())),
        ),
        TerminalResult::Busy => (
            TransactionState::Failed,
            Some("the terminal was busy and did not start it".into()),
        ),
        TerminalResult::DeviceUnavailable => (
            TransactionState::Failed,
            Some("the terminal was unavailable and did not start it".into()),
        ),
        TerminalResult::LoggedOut => (
            TransactionState::Failed,
            Some("the terminal was logged out and did not start it".into()),
        ),
        TerminalResult::PrintLastTicket => (
            TransactionState::Unknown,
            Some("the terminal answered PrintLastTicket: the outcome is not conclusive".into()),
        ),
        TerminalResult::Other(value) => (
            TransactionState::Unknown,
            Some(format!("the terminal answered an unrecognised result {value:?}").into()),
        ),
    };
    Verdict {
        state,
        result_code: code,
        reason,
    }
}

/// The OPI name of a result.
pub(crate) fn result_name(result: &TerminalResult) -> &str {
    match result {
        TerminalResult::Aborted => "Aborted",
        TerminalResult::Busy => "Busy",
        TerminalResult::DeviceUnavailable => "DeviceUnavailable",
        TerminalResult::Failure => "Failure",
        TerminalResult::LoggedOut => "LoggedOut",
        TerminalResult::PrintLastTicket => "PrintLastTicket",
        TerminalResult::Success => "Success",
        TerminalResult::TimedOut => "TimedOut",
        TerminalResult::Other(value) => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(result: TerminalResult) -> TerminalResponse {
        TerminalResponse {
            result,
            authorisation: None,
            amount: None,
            error_code: None,
            error_text: None,
        }
    }

    #[test]
    fn only_success_approves_and_inconclusive_stays_unknown() {
        assert_eq!(
            verdict(&answer(TerminalResult::Success)).state,
            TransactionState::Approved
        );
        assert_eq!(
            verdict(&answer(TerminalResult::Failure)).state,
            TransactionState::Declined
        );
        assert_eq!(
            verdict(&answer(TerminalResult::Aborted)).state,
            TransactionState::Aborted
        );
        assert_eq!(
            verdict(&answer(TerminalResult::Busy)).state,
            TransactionState::Failed
        );
        assert_eq!(
            verdict(&answer(TerminalResult::PrintLastTicket)).state,
            TransactionState::Unknown
        );
        assert_eq!(
            verdict(&answer(TerminalResult::Other("Weird".into()))).state,
            TransactionState::Unknown
        );
    }

    #[test]
    fn codes_carry_the_terminal_error() {
        let mut declined = answer(TerminalResult::Failure);
        declined.error_code = Some("05".into());
        assert_eq!(verdict(&declined).result_code, "Failure/05");
    }
}
