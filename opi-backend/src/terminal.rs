//! [`OpiTerminal`]: the domain's [`Terminal`] port over one terminal's driver task.

use std::sync::Arc;

use async_trait::async_trait;
use eps_core::ids::{TerminalId, TerminalRequestId};
use eps_core::terminal::{
    LastResult, OperationObserver, ReconciliationOutcome, Terminal, TerminalError, TerminalHealth,
    TerminalOutcome, TerminalRequest, TerminalResponse, TerminalResult, TerminalService,
    TerminalStatus,
};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Span;

use crate::driver::{Command, SharedHealth};

/// An OPI terminal as the domain drives it. Cheap to share; every call goes to the terminal's
/// driver task, which runs one request at a time (a second one while busy is refused as busy).
#[derive(Debug, Clone)]
pub struct OpiTerminal {
    id: TerminalId,
    connect_timeout: std::time::Duration,
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<TerminalStatus>,
    health: SharedHealth,
    hard_cap: std::time::Duration,
}

const STOPPED: &str = "the terminal driver is not running";

impl OpiTerminal {
    pub(crate) fn new(
        id: TerminalId,
        connect_timeout: std::time::Duration,
        commands: mpsc::Sender<Command>,
        status: watch::Receiver<TerminalStatus>,
        health: SharedHealth,
        hard_cap: std::time::Duration,
    ) -> Self {
        Self {
            id,
            connect_timeout,
            commands,
            status,
            health,
            hard_cap,
        }
    }

    /// Sends a command; `None` if the driver is gone before it took it.
    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Option<Result<T, oneshot::error::RecvError>> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(command(reply)).await.ok()?;
        Some(answer.await)
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Card { .. } => "Card",
            Self::Abort { .. } => "Abort",
            Self::LastResult { .. } => "LastResult",
            Self::Reprint { .. } => "Reprint",
            Self::Reconcile { .. } => "Reconcile",
            Self::Service { .. } => "Service",
        })
    }
}

#[async_trait]
impl Terminal for OpiTerminal {
    fn id(&self) -> &TerminalId {
        &self.id
    }

    /// The profile's `timers.connect`.
    fn connect_timeout(&self) -> std::time::Duration {
        self.connect_timeout
    }

    /// The profile's `timers.hard_cap`.
    fn hard_cap(&self) -> std::time::Duration {
        self.hard_cap
    }

    async fn card_operation(
        &self,
        request: TerminalRequest,
        observer: Arc<dyn OperationObserver>,
    ) -> TerminalOutcome {
        match self
            .ask(|reply| Command::Card {
                request,
                observer,
                reply,
                span: Span::current(),
            })
            .await
        {
            Some(Ok(outcome)) => outcome,
            None => TerminalOutcome::NotSent {
                reason: STOPPED.to_owned(),
            },
            // The driver took the request and stopped before answering: it may have been sent.
            Some(Err(_)) => TerminalOutcome::Lost {
                reason: STOPPED.to_owned(),
            },
        }
    }

    async fn abort(&self) -> Result<(), TerminalError> {
        match self.ask(|reply| Command::Abort { reply }).await {
            Some(Ok(result)) => result,
            None | Some(Err(_)) => Err(TerminalError::Unreachable(STOPPED.to_owned())),
        }
    }

    async fn last_result(
        &self,
        request_id: TerminalRequestId,
    ) -> Result<LastResult, TerminalError> {
        match self
            .ask(|reply| Command::LastResult {
                request_id,
                reply,
                span: Span::current(),
            })
            .await
        {
            Some(Ok(result)) => result,
            None => Err(TerminalError::Unreachable(STOPPED.to_owned())),
            Some(Err(_)) => Err(TerminalError::Lost(STOPPED.to_owned())),
        }
    }

    async fn reprint(
        &self,
        request_id: TerminalRequestId,
        observer: Arc<dyn OperationObserver>,
    ) -> Result<TerminalResponse, TerminalError> {
        match self
            .ask(|reply| Command::Reprint {
                request_id,
                observer,
                reply,
                span: Span::current(),
            })
            .await
        {
            Some(Ok(result)) => result,
            None => Err(TerminalError::Unreachable(STOPPED.to_owned())),
            Some(Err(_)) => Err(TerminalError::Lost(STOPPED.to_owned())),
        }
    }

    async fn reconcile(
        &self,
        request_id: TerminalRequestId,
        closure: bool,
        observer: Arc<dyn OperationObserver>,
    ) -> ReconciliationOutcome {
        match self
            .ask(|reply| Command::Reconcile {
                request_id,
                closure,
                observer,
                reply,
                span: Span::current(),
            })
            .await
        {
            Some(Ok(outcome)) => outcome,
            None => ReconciliationOutcome::NotSent {
                reason: STOPPED.to_owned(),
            },
            Some(Err(_)) => ReconciliationOutcome::Lost {
                reason: STOPPED.to_owned(),
            },
        }
    }

    fn status(&self) -> watch::Receiver<TerminalStatus> {
        self.status.clone()
    }

    async fn service(&self, service: TerminalService) -> Result<TerminalResult, TerminalError> {
        match self
            .ask(|reply| Command::Service {
                service,
                reply,
                span: Span::current(),
            })
            .await
        {
            Some(Ok(result)) => result,
            None => Err(TerminalError::Unreachable(STOPPED.to_owned())),
            Some(Err(_)) => Err(TerminalError::Lost(STOPPED.to_owned())),
        }
    }

    fn health(&self) -> TerminalHealth {
        self.health.snapshot()
    }
}
