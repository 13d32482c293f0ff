//! The session with the terminal: opening it (Login, or ActivateTerminal with a Login fallback),
//! ending it, and end of day (ReconciliationWithClosure, or ep2's TransmitTrx then CloseDay).

use super::*;
use crate::profile::EndOfDay;

/// How an attempt to open the session went.
enum Opening {
    /// Accepted.
    Opened,
    /// Answered with a refusal (the terminal does not take this request).
    Refused(TerminalResult, String),
    /// Lost, not sent, or a temporary refusal (Busy, DeviceUnavailable, TimedOut).
    Failed(String),
}

impl Actor {
    pub(super) async fn ensure_session(&mut self) -> Result<(), String> {
        if self.logged_in {
            Ok(())
        } else {
            self.start_session().await
        }
    }

    /// Login or ActivateTerminal, as the profile says; an ActivateTerminal the terminal refuses
    /// is followed by a Login (research notes §5.1: "ActivateTerminal (Login fallback)").
    pub(super) async fn start_session(&mut self) -> Result<(), String> {
        let start = self.settings.profile.session_start;
        if start == SessionStart::None {
            self.logged_in = true;
            return Ok(());
        }
        match self.opening(start).await {
            Opening::Opened => {
                self.logged_in = true;
                self.set_status(TerminalStatus::Online);
                Ok(())
            }
            Opening::Refused(_, reason) => {
                self.logged_in = false;
                self.set_status(TerminalStatus::LoggedOut);
                Err(reason)
            }
            Opening::Failed(reason) => {
                self.logged_in = false;
                Err(reason)
            }
        }
    }

    /// An operator's Login: the profile's session start (a plain Login for a profile that
    /// opens none), answered with the terminal's result.
    pub(super) async fn operator_login(&mut self) -> Result<TerminalResult, TerminalError> {
        let start = match self.settings.profile.session_start {
            SessionStart::None => SessionStart::Login,
            start => start,
        };
        match self.opening(start).await {
            Opening::Opened => {
                self.logged_in = true;
                self.set_status(TerminalStatus::Online);
                Ok(TerminalResult::Success)
            }
            Opening::Refused(result, reason) => {
                info!(terminal = %self.settings.id, %reason, "operator's login refused");
                self.logged_in = false;
                self.set_status(TerminalStatus::LoggedOut);
                Ok(result)
            }
            Opening::Failed(reason) => Err(TerminalError::Unreachable(reason)),
        }
    }

    /// Opens the session with `start`, falling back from a refused ActivateTerminal to Login.
    async fn opening(&mut self, start: SessionStart) -> Opening {
        let opening = self.open_session(start).await;
        if let (SessionStart::ActivateTerminal, Opening::Refused(_, reason)) = (start, &opening) {
            info!(terminal = %self.settings.id, %reason, "falling back to Login");
            return self.open_session(SessionStart::Login).await;
        }
        opening
    }

    async fn open_session(&mut self, start: SessionStart) -> Opening {
        let id = self.fresh_id();
        let operation = Operation::SessionStart(start);
        let name = operation.request_type(&self.settings.profile).to_owned();
        match self.converse(id, operation, None).await {
            Finished::Answered(answer) => match answer.result() {
                TerminalResult::Success => {
                    info!(terminal = %self.settings.id, "{name} accepted");
                    Opening::Opened
                }
                result @ (TerminalResult::Busy
                | TerminalResult::DeviceUnavailable
                | TerminalResult::TimedOut) => {
                    Opening::Failed(format!("{name} not taken now: {result:?}"))
                }
                other => Opening::Refused(other.clone(), format!("{name} refused: {other:?}")),
            },
            Finished::Lost { reason } | Finished::NotSent { reason } => {
                Opening::Failed(format!("{name} failed: {reason}"))
            }
        }
    }

    /// Ends the session (Logoff, or DeactivateTerminal with a Logoff fallback; a plain Logoff
    /// for a profile that opens none) and returns the terminal's last answer.
    pub(super) async fn end_session(&mut self) -> Result<TerminalResult, TerminalError> {
        let start = match self.settings.profile.session_start {
            SessionStart::None => SessionStart::Login,
            start => start,
        };
        let mut refused = TerminalResult::Failure;
        let mut ends = vec![start];
        if start == SessionStart::ActivateTerminal {
            ends.push(SessionStart::Login);
        }
        for end in ends {
            let id = self.fresh_id();
            let operation = Operation::SessionEnd(end);
            let name = operation.request_type(&self.settings.profile).to_owned();
            match self.converse(id, operation, None).await {
                Finished::Answered(answer) if answer.result() == TerminalResult::Success => {
                    info!(terminal = %self.settings.id, "{name} accepted");
                    self.logged_in = false;
                    self.set_status(TerminalStatus::LoggedOut);
                    return Ok(TerminalResult::Success);
                }
                Finished::Answered(answer) => {
                    warn!(terminal = %self.settings.id, result = ?answer.result(), "{name} refused");
                    refused = answer.result();
                }
                Finished::Lost { reason } => {
                    warn!(terminal = %self.settings.id, %reason, "{name} failed");
                    return Err(TerminalError::Lost(reason));
                }
                Finished::NotSent { reason } => {
                    warn!(terminal = %self.settings.id, %reason, "{name} failed");
                    return Err(TerminalError::Unreachable(reason));
                }
            }
        }
        Ok(refused)
    }

    /// Totals, closing the batch when `closure` is set, as the profile asks: one request, or
    /// (ep2) TransmitTrx then CloseDay, after which the terminal's session is over ("performs
    /// the final balance with logoff at the end", S2).
    pub(super) async fn end_of_day(
        &mut self,
        id: RequestId,
        closure: bool,
        observer: Arc<dyn OperationObserver>,
    ) -> Finished {
        let close_day =
            closure && self.settings.profile.end_of_day == EndOfDay::TransmitThenCloseDay;
        if close_day {
            let transmit_id = self.fresh_id();
            let transmit = self
                .with_session_retry(
                    transmit_id,
                    Operation::TransmitTransactions,
                    Some(observer.clone()),
                )
                .await;
            match transmit {
                Finished::Answered(answer) if answer.result() == TerminalResult::Success => {}
                // CloseDay makes the final balance whatever TransmitTrx left behind.
                Finished::Answered(answer) => {
                    warn!(terminal = %self.settings.id, result = ?answer.result(), "TransmitTrx refused; closing the day anyway");
                }
                Finished::Lost { reason } | Finished::NotSent { reason } => {
                    return Finished::NotSent {
                        reason: format!(
                            "TransmitTrx before CloseDay failed ({reason}); CloseDay was not sent"
                        ),
                    };
                }
            }
        }
        let finished = self
            .with_session_retry(id, Operation::Reconciliation { closure }, Some(observer))
            .await;
        if close_day
            && matches!(&finished, Finished::Answered(a) if a.result() == TerminalResult::Success)
        {
            self.logged_in = false;
        }
        finished
    }
}
