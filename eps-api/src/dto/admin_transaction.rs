//! Operator views of transactions (`/admin/transactions`): the journal, and resolutions of
//! transactions left `unknown`.

use eps_core::opi_trace::{TraceDirection, TracedFrame};
use eps_core::payments::Resolution;
use eps_core::receipt::ReceiptRecord;
use eps_core::transaction::{JournalEntry, TransactionRecord, TransactionState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::receipt::ReceiptBody;
use crate::dto::status::{StatusReturn, format_timestamp};
use crate::dto::transaction::TransactionBody;
use crate::error::{ApiError, ApiResult};

/// Longest resolution note.
pub const MAX_NOTE_LEN: usize = 1000;

/// One journal step; details never hold a full card number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JournalEntryBody {
    /// When (UTC).
    #[schema(format = DateTime)]
    pub at: String,
    /// What: `created`, `sending`, `sent`, `state`, `receipt`, `response`, `linkLost`,
    /// `recovery`, `evidence`, `resolution`, …
    pub step: String,
    /// Detail for operators.
    pub detail: String,
}

impl From<&JournalEntry> for JournalEntryBody {
    fn from(e: &JournalEntry) -> Self {
        Self {
            at: format_timestamp(e.at),
            step: e.step.clone(),
            detail: e.detail.to_string(),
        }
    }
}

/// Which way a traced frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum TraceDirectionBody {
    /// From the terminal to the EPS.
    In,
    /// From the EPS to the terminal.
    Out,
}

impl From<TraceDirection> for TraceDirectionBody {
    fn from(direction: TraceDirection) -> Self {
        match direction {
            TraceDirection::In => Self::In,
            TraceDirection::Out => Self::Out,
        }
    }
}

/// One OPI frame exchanged with the terminal for the transaction; card numbers masked, secret
/// input answers (PINs, hidden entries) shown as `****`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceEntryBody {
    /// When the EPS wrote or read it (UTC).
    #[schema(format = DateTime)]
    pub at: String,
    /// `out` (EPS → terminal) or `in` (terminal → EPS).
    pub direction: TraceDirectionBody,
    /// The OPI channel: 0 for the EPS's requests and their answers, 1 for the terminal's device
    /// requests and their answers.
    #[schema(minimum = 0, maximum = 1)]
    pub channel: u8,
    /// The message: `CardServiceRequest`, `CardServiceResponse`, `ServiceRequest`,
    /// `ServiceResponse`, `DeviceRequest` or `DeviceResponse`.
    pub message: String,
    /// Its OPI `RequestType` (`CardPayment`, `Output`, `Input`, …).
    pub request_type: String,
    /// The XML body as exchanged, masked.
    pub xml: String,
}

impl From<&TracedFrame> for TraceEntryBody {
    fn from(frame: &TracedFrame) -> Self {
        Self {
            at: format_timestamp(frame.at),
            direction: frame.direction.into(),
            channel: frame.channel.number(),
            message: frame.message.clone(),
            request_type: frame.request_type.clone(),
            xml: frame.xml.to_string(),
        }
    }
}

/// A transaction as operators see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminTransactionResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The transaction.
    pub transaction: TransactionBody,
    /// The site.
    #[serde(rename = "merchantID")]
    pub merchant_id: String,
    /// The OAuth2 client that asked for it.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// The connection it was asked on.
    #[serde(rename = "connectionID")]
    pub connection_id: Option<String>,
    /// The terminal serving its POI.
    #[serde(rename = "terminalID")]
    pub terminal_id: String,
    /// The OPI RequestID it was sent under (what the terminal's own records show).
    #[serde(rename = "terminalRequestID")]
    pub terminal_request_id: String,
    /// Every step, oldest first.
    pub journal: Vec<JournalEntryBody>,
    /// Every receipt copy the terminal printed for it, oldest first.
    pub receipts: Vec<ReceiptBody>,
    /// The OPI messages exchanged with the terminal for it, in order (written shortly after
    /// they are exchanged, so the newest may show up a moment later).
    #[serde(rename = "traceEntries")]
    pub trace_entries: Vec<TraceEntryBody>,
}

impl AdminTransactionResponse {
    /// The view of `record` with its `journal`, `receipts` and OPI `trace`.
    pub fn new(
        status_return: StatusReturn,
        record: &TransactionRecord,
        journal: &[JournalEntry],
        receipts: &[ReceiptRecord],
        trace: &[TracedFrame],
    ) -> Self {
        Self {
            status_return,
            transaction: record.into(),
            merchant_id: record.merchant_id.to_string(),
            client_id: record.client_id.to_string(),
            connection_id: record.connection_id.map(|id| id.to_string()),
            terminal_id: record.terminal_id.to_string(),
            terminal_request_id: record.terminal_request_id.to_string(),
            journal: journal.iter().map(Into::into).collect(),
            receipts: receipts.iter().map(Into::into).collect(),
            trace_entries: trace.iter().map(Into::into).collect(),
        }
    }
}

/// The state an operator resolves an `unknown` transaction to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ResolvedState {
    /// The terminal's records show it approved.
    Approved,
    /// The terminal's records show it declined.
    Declined,
    /// The terminal's records show it never ran.
    Failed,
}

impl From<ResolvedState> for TransactionState {
    fn from(state: ResolvedState) -> Self {
        match state {
            ResolvedState::Approved => Self::Approved,
            ResolvedState::Declined => Self::Declined,
            ResolvedState::Failed => Self::Failed,
        }
    }
}

/// `POST /admin/transactions/{transactionID}/resolution`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"state": "approved", "stan": "000123", "approvalCode": "112648", "note": "terminal journal: STAN 000123 approved"}))]
pub struct ResolutionRequest {
    /// The outcome the terminal's own records show.
    pub state: ResolvedState,
    /// With `approved` (required then, and only then): the terminal's trace number of the
    /// approval, 1..32 visible characters, from its journal or receipt; later completions and
    /// reversals name the transaction to the terminal by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 32)]
    pub stan: Option<String>,
    /// With `approved`, optional: the issuer's approval code from the same records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 32)]
    pub approval_code: Option<String>,
    /// What the operator checked (1..1000 characters), kept in the journal.
    #[schema(min_length = 1, max_length = 1000)]
    pub note: String,
}

impl crate::extract::PosReference for ResolutionRequest {}

impl ResolutionRequest {
    /// The operator's finding, checked: an approval carries the terminal's STAN, nothing else
    /// carries terminal references.
    pub fn resolution(&self) -> ApiResult<Resolution> {
        let reference =
            |field: &'static str, value: &Option<String>| -> ApiResult<Option<String>> {
                match value.as_deref().map(str::trim) {
                    None => Ok(None),
                    Some(v)
                        if (1..=32).contains(&v.chars().count())
                            && v.chars().all(|c| c.is_ascii_graphic()) =>
                    {
                        Ok(Some(v.to_owned()))
                    }
                    Some(_) => Err(ApiError::field(
                        field,
                        "must be 1..32 visible ASCII characters",
                    )),
                }
            };
        let stan = reference("stan", &self.stan)?;
        let approval_code = reference("approvalCode", &self.approval_code)?;
        match (self.state, stan) {
            (ResolvedState::Approved, Some(stan)) => Ok(Resolution::Approved {
                stan,
                approval_code,
            }),
            (ResolvedState::Approved, None) => Err(ApiError::field(
                "stan",
                "is required with approved: the terminal's trace number from its records",
            )),
            (_, Some(_)) => Err(ApiError::field("stan", "is given only with approved")),
            (_, None) if approval_code.is_some() => Err(ApiError::field(
                "approvalCode",
                "is given only with approved",
            )),
            (ResolvedState::Declined, None) => Ok(Resolution::Declined),
            (ResolvedState::Failed, None) => Ok(Resolution::Failed),
        }
    }

    /// The note, checked.
    pub fn note(&self) -> ApiResult<&str> {
        let note = self.note.trim();
        if note.is_empty() || note.chars().count() > MAX_NOTE_LEN {
            return Err(ApiError::field("note", "must be 1..1000 characters"));
        }
        Ok(note)
    }
}
