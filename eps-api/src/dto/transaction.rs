//! Card transactions as site systems read them: `GET /transactions/{transactionID}`, the list,
//! and the answers of every route that starts one.

use eps_core::transaction::{Authorisation, TransactionKind, TransactionRecord, TransactionState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::amount::AmountBody;
use crate::dto::status::{StatusReturn, format_timestamp};

/// What a transaction asks of the card (the Open Retailing use cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum TransactionType {
    /// Sale/Payment (`POST /payments`).
    Payment,
    /// Authorization: an amount reserved, e.g. before fuelling (`POST /authorizations`).
    Authorization,
    /// Completion/FinancialAdvice of an authorization with the final amount.
    Completion,
    /// Reversal of an approved transaction.
    Reversal,
    /// Refund/Return.
    Refund,
}

impl From<TransactionKind> for TransactionType {
    fn from(kind: TransactionKind) -> Self {
        match kind {
            TransactionKind::Payment => Self::Payment,
            TransactionKind::PreAuthorisation => Self::Authorization,
            TransactionKind::Completion => Self::Completion,
            TransactionKind::Reversal => Self::Reversal,
            TransactionKind::Refund => Self::Refund,
        }
    }
}

/// Where a transaction stands.
///
/// `pending` (durable, not yet sent) → `inProgress` (on the terminal) → `approved` | `declined`
/// | `aborted` | `failed` (never reached the terminal, or proved never completed; no money
/// moved) | `unknown` (the outcome was lost; recovery runs, or an operator must resolve it);
/// later `completed`, `reversed`, `refunded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum TransactionStateName {
    /// Durable, not yet on the wire.
    Pending,
    /// Sent to the terminal; the outcome is awaited.
    InProgress,
    /// Approved.
    Approved,
    /// Declined; no money moved.
    Declined,
    /// Aborted; no money moved.
    Aborted,
    /// Never reached the terminal, or proved never completed there; no money moved.
    Failed,
    /// The outcome was lost: recovery is running or an operator must resolve it.
    Unknown,
    /// An authorization settled by its completion.
    Completed,
    /// Cancelled by a reversal.
    Reversed,
    /// Fully refunded.
    Refunded,
}

impl From<TransactionState> for TransactionStateName {
    fn from(state: TransactionState) -> Self {
        match state {
            TransactionState::Pending => Self::Pending,
            TransactionState::InProgress => Self::InProgress,
            TransactionState::Approved => Self::Approved,
            TransactionState::Declined => Self::Declined,
            TransactionState::Aborted => Self::Aborted,
            TransactionState::Failed => Self::Failed,
            TransactionState::Unknown => Self::Unknown,
            TransactionState::Completed => Self::Completed,
            TransactionState::Reversed => Self::Reversed,
            TransactionState::Refunded => Self::Refunded,
        }
    }
}

/// What the terminal reported about the authorisation; the card number only masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationBody {
    /// The issuer's approval code.
    pub approval_code: Option<String>,
    /// The masked card number, e.g. `680533######4747`.
    #[serde(rename = "maskedPAN")]
    pub masked_pan: Option<String>,
    /// The card scheme, e.g. `VISA`, `girocard`.
    pub card_circuit: Option<String>,
    /// The terminal's trace number.
    pub stan: Option<String>,
    /// The terminal's receipt number.
    pub receipt_number: Option<String>,
    /// The terminal's own id.
    #[serde(rename = "terminalID")]
    pub terminal_id: Option<String>,
    /// The acquirer.
    #[serde(rename = "acquirerID")]
    pub acquirer_id: Option<String>,
    /// The acquirer's action code.
    pub action_code: Option<String>,
    /// The authorisation time as the terminal wrote it.
    pub timestamp: Option<String>,
}

impl From<&Authorisation> for AuthorizationBody {
    fn from(a: &Authorisation) -> Self {
        Self {
            approval_code: a.approval_code.clone(),
            masked_pan: a.masked_pan.as_ref().map(ToString::to_string),
            card_circuit: a.card_circuit.clone(),
            stan: a.stan.clone(),
            receipt_number: a.receipt_number.clone(),
            terminal_id: a.terminal_id.clone(),
            acquirer_id: a.acquirer_id.clone(),
            action_code: a.action_code.clone(),
            timestamp: a.timestamp.clone(),
        }
    }
}

/// A card transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionBody {
    /// Its id (`Location: /transactions/{transactionID}`).
    #[serde(rename = "transactionID")]
    #[schema(example = "0193a6f4-5c1e-7d2a-9b1e-0c2d3e4f5a6b")]
    pub transaction_id: String,
    /// What it asks of the card.
    #[serde(rename = "type")]
    pub transaction_type: TransactionType,
    /// Where it stands.
    pub state: TransactionStateName,
    /// The POI it runs on.
    #[serde(rename = "poiID")]
    pub poi_id: String,
    /// The amount asked for.
    pub amount: AmountBody,
    /// The amount the terminal approved, when it reported one.
    pub approved_amount: Option<AmountBody>,
    /// What the approved refunds of this payment or completion add up to, once there is one; it
    /// stays `approved` until they reach its amount, then becomes `refunded`.
    pub refunded_amount: Option<AmountBody>,
    /// The transaction this one completes, reverses or refunds.
    #[serde(rename = "originalTransactionID")]
    pub original_transaction_id: Option<String>,
    /// The site system's own reference, as sent.
    pub reference: Option<String>,
    /// Approval details.
    pub authorization: Option<AuthorizationBody>,
    /// The terminal's result (and error code) as reported, e.g. `Success`, `Failure/05`;
    /// `unreachable` when nothing was sent.
    pub result_code: Option<String>,
    /// Why it is declined, aborted, failed or unknown.
    pub reason: Option<String>,
    /// When it was created (UTC).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it last changed (UTC).
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&TransactionRecord> for TransactionBody {
    fn from(t: &TransactionRecord) -> Self {
        Self {
            transaction_id: t.id.to_string(),
            transaction_type: t.kind.into(),
            state: t.state.into(),
            poi_id: t.poi_id.to_string(),
            amount: t.amount.into(),
            approved_amount: t.approved_amount.map(Into::into),
            refunded_amount: t.refunded_amount.map(Into::into),
            original_transaction_id: t.original_id.map(|id| id.to_string()),
            reference: t.reference.as_ref().map(ToString::to_string),
            authorization: t.authorisation.as_ref().map(Into::into),
            result_code: t.result_code.clone(),
            reason: t.reason.as_ref().map(ToString::to_string),
            created_at: format_timestamp(t.created_at),
            updated_at: format_timestamp(t.updated_at),
        }
    }
}

/// One transaction with the status block.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransactionResponse {
    /// The status block; `ERRCD_POI_UNAVAILABLE` when the terminal could not be reached.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The transaction.
    pub transaction: TransactionBody,
}

/// A page of transactions, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransactionListResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The transactions of this page.
    pub transactions: Vec<TransactionBody>,
    /// The next (older) page with the same filters, when there may be one.
    #[schema(example = "/transactions?limit=20&before=0193a6f4-5c1e-7d2a-9b1e-0c2d3e4f5a6b")]
    pub next: Option<String>,
}

/// The answer of a 409 that names a transaction: the POI's terminal is busy with another card
/// operation (`ERRCD_POI_BUSY`), blocked by one of unknown outcome (`ERRCD_POI_BLOCKED`), or a
/// follow-up is refused because of another follow-up of the same original
/// (`ERRCD_FOLLOW_UP_CONFLICT`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PoiBusyResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// `ERRCD_POI_BUSY`: the transaction the terminal is running, when it is a card transaction.
    #[serde(rename = "activeTransactionID")]
    pub active_transaction_id: Option<String>,
    /// `ERRCD_POI_BLOCKED`: the transaction whose outcome is unknown; `ERRCD_FOLLOW_UP_CONFLICT`:
    /// the follow-up in the way (the message names every one). Absent for other codes.
    #[serde(
        rename = "blockingTransactionID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub blocking_transaction_id: Option<String>,
}
