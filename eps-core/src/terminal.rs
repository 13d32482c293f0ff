//! The terminal port: what the domain asks of a payment terminal, whatever protocol it speaks.
//!
//! `opi-backend` implements [`Terminal`] for OPI terminals. The domain hands each operation an
//! [`OperationObserver`] that makes every step durable: [`OperationObserver::before_send`] runs
//! before the first request byte is written (so a crash after it is recovered, not retried),
//! [`OperationObserver::sent`] once the request is on the wire, and the device callbacks while the
//! terminal works. The outcome type separates "definitely never sent" from "sent, outcome lost".

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::Duration;
use tokio::sync::watch;

use crate::ids::{TerminalId, TerminalRequestId};
use crate::money::Amount;
use crate::opi_trace::WireFrame;
use crate::prompt::{InputSpec, PromptAnswer};
use crate::receipt::ReceiptCopy;
use crate::reconciliation::ReconciliationTotal;
use crate::transaction::{Authorisation, TransactionKind};

mod service;

pub use service::{DiagnosisResult, LinkState, TerminalHealth, TerminalService};

/// How the terminal identified the transaction a follow-up refers to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OriginalTransaction {
    /// The RequestID the EPS used for it.
    pub request_id: Option<TerminalRequestId>,
    /// The terminal's trace number.
    pub stan: Option<String>,
    /// The terminal's own id.
    pub terminal_id: Option<String>,
    /// The approval code.
    pub approval_code: Option<String>,
    /// The authorisation time as the terminal wrote it.
    pub timestamp: Option<String>,
}

/// A card operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardOperation {
    /// Settle a pre-authorisation with the final amount (OPI CardFinancialAdvice).
    Completion {
        /// The final amount, at most the authorised one.
        amount: Amount,
        /// The pre-authorisation.
        original: OriginalTransaction,
    },
    /// A sale (OPI CardPayment).
    Payment {
        /// The amount.
        amount: Amount,
    },
    /// Reserve an amount (OPI CardPreAuthorisation).
    PreAuthorisation {
        /// The amount to reserve.
        amount: Amount,
    },
    /// Return money (OPI PaymentRefund).
    Refund {
        /// The amount.
        amount: Amount,
        /// The transaction refunded, when known.
        original: Option<OriginalTransaction>,
    },
    /// Cancel an approved transaction (OPI PaymentReversal, PreAuthReversal or RefundReversal,
    /// by what it reverses).
    Reversal {
        /// The original amount.
        amount: Amount,
        /// The transaction reversed.
        original: OriginalTransaction,
        /// What the reversed transaction was.
        reverses: ReversedKind,
    },
}

/// What kind of transaction a reversal cancels; terminals name the reversal after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReversedKind {
    /// A settled pre-authorisation.
    Completion,
    /// A sale.
    Payment,
    /// A reservation.
    PreAuthorisation,
    /// A refund.
    Refund,
}

impl ReversedKind {
    /// The kind a reversal of a `kind` transaction reverses; `None` for a reversal itself.
    pub const fn of(kind: TransactionKind) -> Option<Self> {
        match kind {
            TransactionKind::Completion => Some(Self::Completion),
            TransactionKind::Payment => Some(Self::Payment),
            TransactionKind::PreAuthorisation => Some(Self::PreAuthorisation),
            TransactionKind::Refund => Some(Self::Refund),
            TransactionKind::Reversal => None,
        }
    }
}

/// One request to a terminal; `request_id` was made durable before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalRequest {
    /// The OPI RequestID to use.
    pub request_id: TerminalRequestId,
    /// What to do.
    pub operation: CardOperation,
}

/// The terminal's overall result, as OPI's `OverallResult` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TerminalResult {
    /// Aborted by cashier, customer or an abort request.
    Aborted,
    /// Another operation is running; try again shortly.
    Busy,
    /// The terminal cannot serve requests now.
    DeviceUnavailable,
    /// Declined or failed; no money moved.
    Failure,
    /// The terminal needs a Login first.
    LoggedOut,
    /// The last receipt was not delivered; the outcome itself is not conclusive.
    PrintLastTicket,
    /// Complete success.
    Success,
    /// The terminal's host did not answer.
    TimedOut,
    /// Any other value, kept as sent.
    Other(String),
}

/// A terminal's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalResponse {
    /// The overall result.
    pub result: TerminalResult,
    /// Approval details, when the card was authorised.
    pub authorisation: Option<Authorisation>,
    /// The amount the terminal reports.
    pub amount: Option<Amount>,
    /// The terminal's error code (PrivateData/ErrorCode or similar).
    pub error_code: Option<String>,
    /// The terminal's error text.
    pub error_text: Option<String>,
}

/// How a request ended, as far as the EPS can know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalOutcome {
    /// The terminal answered.
    Answered(Box<TerminalResponse>),
    /// The request was sent but its answer was lost: recovery must find out.
    Lost {
        /// What failed.
        reason: String,
    },
    /// The request definitely never reached the terminal.
    NotSent {
        /// What failed.
        reason: String,
    },
}

/// What the terminal reports about its last request (OPI RepeatLastMessage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastResult {
    /// The RequestID of that request (OPI `OriginalHeader@RequestID`).
    pub request_id: Option<TerminalRequestId>,
    /// Its request type as the terminal names it (`CardPayment`, …).
    pub request_type: Option<String>,
    /// Its answer.
    pub response: TerminalResponse,
}

/// A printer or display output sent by the terminal during an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceOutput {
    /// Text for a display.
    Display {
        /// The OPI device target.
        target: String,
        /// The lines.
        lines: Vec<String>,
    },
    /// A receipt copy.
    Receipt {
        /// Which copy, per the terminal profile's receipt mapping.
        copy: ReceiptCopy,
        /// The OPI device target.
        target: String,
        /// The lines.
        lines: Vec<String>,
    },
}

/// A question the terminal asks while it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRequest {
    /// The OPI device target (`CashierKeyboard`, …).
    pub target: String,
    /// The text shown with it.
    pub lines: Vec<String>,
    /// What is asked.
    pub spec: InputSpec,
    /// How long the terminal waits for the answer.
    pub timeout: Duration,
}

/// The domain side of a running operation: it makes each step durable and answers callbacks.
#[async_trait]
pub trait OperationObserver: Send + Sync {
    /// Called before the first request byte is written; an error means "do not send".
    async fn before_send(&self) -> Result<(), String>;
    /// Called once the whole request is written.
    async fn sent(&self);
    /// A printer or display output arrived.
    async fn output(&self, output: DeviceOutput);
    /// The terminal asks a question; the answer goes back to it. `None` sends the default.
    async fn input(&self, request: InputRequest) -> Option<PromptAnswer>;
    /// The terminal reports a card was presented.
    async fn card_acquired(&self);
    /// A frame was written or read for this operation (its trace); must not wait.
    fn frame(&self, frame: WireFrame) {
        let _ = frame;
    }
}

/// Why a non-financial terminal request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TerminalError {
    /// The terminal could not be reached; nothing was sent.
    #[error("terminal unreachable: {0}")]
    Unreachable(String),
    /// The terminal is busy.
    #[error("terminal busy")]
    Busy,
    /// The request was sent but the answer was lost.
    #[error("answer lost: {0}")]
    Lost(String),
    /// The terminal answered something the protocol does not allow here.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The terminal refused.
    #[error("terminal refused: {0:?}")]
    Refused(TerminalResult),
}

/// End-of-day totals from a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationReport {
    /// The overall result.
    pub result: TerminalResult,
    /// The totals per card circuit and payment type.
    pub totals: Vec<ReconciliationTotal>,
    /// The terminal's error code.
    pub error_code: Option<String>,
}

/// How a reconciliation request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconciliationOutcome {
    /// The terminal answered.
    Answered(ReconciliationReport),
    /// Sent, answer lost.
    Lost {
        /// What failed.
        reason: String,
    },
    /// Never sent.
    NotSent {
        /// What failed.
        reason: String,
    },
}

/// A terminal's health as last observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TerminalStatus {
    /// Running a card operation.
    Busy,
    /// Reachable but needs a Login.
    LoggedOut,
    /// Not reachable.
    Offline,
    /// Reachable and idle.
    Online,
    /// Not yet checked.
    Unknown,
}

impl TerminalStatus {
    /// The name used in events and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Busy => "busy",
            Self::LoggedOut => "loggedOut",
            Self::Offline => "offline",
            Self::Online => "online",
            Self::Unknown => "unknown",
        }
    }
}

/// A payment terminal the domain can drive, one card operation at a time.
#[async_trait]
pub trait Terminal: Send + Sync {
    /// The configured terminal id.
    fn id(&self) -> &TerminalId;

    /// How long opening a connection to the terminal may take before it counts as unreachable.
    /// A caller waiting for a request to be put on the wire waits this long plus a margin,
    /// then answers that the request is still pending (a slow Login must not block it).
    fn connect_timeout(&self) -> std::time::Duration;

    /// The longest this terminal works on one card request (its profile's hard cap). Recovery
    /// relies on it: once this much time has passed since the EPS stopped writing a request, the
    /// terminal cannot still be working on it.
    fn hard_cap(&self) -> std::time::Duration;

    /// Runs one card operation to its end.
    async fn card_operation(
        &self,
        request: TerminalRequest,
        observer: Arc<dyn OperationObserver>,
    ) -> TerminalOutcome;

    /// Asks the terminal to abort the operation in progress; the acknowledgement is not the outcome.
    async fn abort(&self) -> Result<(), TerminalError>;

    /// Asks the terminal for its last request and answer (OPI RepeatLastMessage).
    async fn last_result(&self, request_id: TerminalRequestId)
    -> Result<LastResult, TerminalError>;

    /// Asks the terminal to print its last receipt again (OPI TicketReprint); the copies arrive
    /// through `observer`.
    async fn reprint(
        &self,
        request_id: TerminalRequestId,
        observer: Arc<dyn OperationObserver>,
    ) -> Result<TerminalResponse, TerminalError>;

    /// Takes end-of-day totals, closing the batch when `closure` is set.
    async fn reconcile(
        &self,
        request_id: TerminalRequestId,
        closure: bool,
        observer: Arc<dyn OperationObserver>,
    ) -> ReconciliationOutcome;

    /// The terminal's health, updated by the backend's periodic checks.
    fn status(&self) -> watch::Receiver<TerminalStatus>;

    /// Sends an operator's non-financial request (Login, Logoff, Diagnosis) and returns the
    /// terminal's result. The caller holds the terminal's claim, as for a card operation.
    async fn service(&self, service: TerminalService) -> Result<TerminalResult, TerminalError>;

    /// The link, session and last Diagnosis as last observed.
    fn health(&self) -> TerminalHealth;
}

/// A shared terminal handle.
pub type SharedTerminal = Arc<dyn Terminal>;
