//! Input prompts waiting for an answer, and the checks an answer must pass.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::ids::PromptId;
use crate::prompt::{InputCommand, InputSpec, PromptAnswer};

/// Answers awaited by running operations, by prompt.
#[derive(Clone, Default)]
pub(crate) struct PromptWaiters {
    waiting: Arc<Mutex<HashMap<PromptId, oneshot::Sender<PromptAnswer>>>>,
}

impl PromptWaiters {
    /// Registers a prompt and returns where its answer will arrive.
    pub(crate) fn wait_for(&self, id: PromptId) -> oneshot::Receiver<PromptAnswer> {
        let (sender, receiver) = oneshot::channel();
        self.lock().insert(id, sender);
        receiver
    }

    /// Hands an answer to the operation waiting for it; false when none waits here.
    pub(crate) fn deliver(&self, id: &PromptId, answer: PromptAnswer) -> bool {
        self.lock()
            .remove(id)
            .is_some_and(|sender| sender.send(answer).is_ok())
    }

    /// Stops waiting for a prompt.
    pub(crate) fn forget(&self, id: &PromptId) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PromptId, oneshot::Sender<PromptAnswer>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Checks that an answer fits what the terminal asked. The messages never quote the answer (it
/// may be a PIN, and refusals are recorded with their idempotency key).
pub fn check_answer(spec: &InputSpec, answer: &PromptAnswer) -> Result<()> {
    let bad = |why: String| Err(Error::InvalidState(format!("answer: {why}")));
    let command = &spec.command;
    match (command, answer) {
        (InputCommand::GetConfirmation, PromptAnswer::Confirmation(_)) => Ok(()),
        (InputCommand::GetConfirmation, _) => {
            bad("GetConfirmation needs a yes/no confirmation".into())
        }
        (InputCommand::GetAnyKey, _) => Ok(()),
        (command, PromptAnswer::Number(value)) if command.takes_number() => {
            let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            if whole.is_empty()
                || !digits(whole)
                || !digits(fraction)
                || (value.contains('.') && fraction.is_empty())
            {
                return bad("not a decimal number".into());
            }
            let max = spec
                .decimals
                .unwrap_or(if *command == InputCommand::GetAmount {
                    2
                } else {
                    0
                });
            if fraction.len() > max as usize {
                return bad(format!("at most {max} decimals"));
            }
            check_length(spec, value)
        }
        (command, _) if command.takes_number() => bad(format!("{command} needs a number")),
        (_, PromptAnswer::Text(value) | PromptAnswer::Number(value)) => check_length(spec, value),
        (command, _) => bad(format!("{command} needs a text answer")),
    }
}

fn check_length(spec: &InputSpec, value: &str) -> Result<()> {
    let len = value.chars().count() as u32;
    if let Some(min) = spec.min_length
        && len < min
    {
        return Err(Error::InvalidState(format!(
            "answer: at least {min} characters"
        )));
    }
    if let Some(max) = spec.max_length
        && len > max
    {
        return Err(Error::InvalidState(format!(
            "answer: at most {max} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(command: &str) -> InputSpec {
        InputSpec {
            command: command.into(),
            marking: crate::prompt::AnswerSecrecy::Clear,
            min_length: None,
            max_length: Some(4),
            decimals: Some(2),
            timeout_secs: None,
        }
    }

    #[test]
    fn answers_must_fit_the_command() {
        assert!(check_answer(&spec("GetConfirmation"), &PromptAnswer::Confirmation(true)).is_ok());
        assert!(check_answer(&spec("GetConfirmation"), &PromptAnswer::Text("yes".into())).is_err());
        assert!(check_answer(&spec("GetAmount"), &PromptAnswer::Number("1.50".into())).is_ok());
        assert!(check_answer(&spec("GetAmount"), &PromptAnswer::Number("1.505".into())).is_err());
        assert!(check_answer(&spec("GetAmount"), &PromptAnswer::Number("-1".into())).is_err());
        assert!(check_answer(&spec("GetChar"), &PromptAnswer::Text("abcde".into())).is_err());
        assert!(check_answer(&spec("GetAnyKey"), &PromptAnswer::AnyKey).is_ok());
        assert!(check_answer(&spec("GetPIN"), &PromptAnswer::Number("1234".into())).is_ok());
        assert!(check_answer(&spec("GetPIN"), &PromptAnswer::Text("12345".into())).is_err());
    }

    #[test]
    fn refusals_never_quote_the_answer() {
        for (command, answer) in [
            ("GetAmount", PromptAnswer::Number("9x17".into())),
            ("GetPIN", PromptAnswer::Text("917346".into())),
            ("GetPIN", PromptAnswer::Confirmation(true)),
        ] {
            let err = check_answer(&spec(command), &answer)
                .unwrap_err()
                .to_string();
            for secret in ["9x17", "917346"] {
                assert!(!err.contains(secret), "{err}");
            }
        }
    }

    #[tokio::test]
    async fn delivered_answers_reach_the_waiter_once() {
        let waiters = PromptWaiters::default();
        let id = PromptId::generate();
        let receiver = waiters.wait_for(id);
        assert!(waiters.deliver(&id, PromptAnswer::Confirmation(true)));
        assert!(!waiters.deliver(&id, PromptAnswer::Confirmation(false)));
        assert_eq!(receiver.await.unwrap(), PromptAnswer::Confirmation(true));
    }
}
