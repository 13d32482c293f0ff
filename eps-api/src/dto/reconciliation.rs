//! Reconciliations: end-of-day totals from a POI's terminal.

use eps_core::receipt::ReceiptRecord;
use eps_core::reconciliation::{ReconciliationRecord, ReconciliationState, ReconciliationTotal};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::amount::AmountBody;
use crate::dto::status::{StatusReturn, format_timestamp};
use crate::dto::transaction_request::PoiSelector;
use crate::dto::yes_no::YesNo;
use crate::extract::PosReference;

/// `POST /reconciliations`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"logicalID": "001", "workstationType": "pointOfService", "closure": "yes"}))]
pub struct ReconciliationRequest {
    /// The POI whose terminal is reconciled.
    #[serde(flatten)]
    pub poi: PoiSelector,
    /// `yes` to close the terminal's batch (end of day); `no` (default) only reads totals.
    #[serde(default = "no")]
    #[schema(default = "no")]
    pub closure: YesNo,
    /// The POS's own reference of this run (e.g. its day-end number), unique among this
    /// client's requests. It is the request's idempotency key, like the `Idempotency-Key` header
    /// (send either, or both with the same value): a retry with the same value and body returns
    /// the same reconciliation and closes no second batch; another body is refused (409).
    #[serde(rename = "posTransactionID", default)]
    #[schema(
        min_length = 1,
        max_length = 255,
        nullable = false,
        example = "dayend-0105"
    )]
    pub pos_transaction_id: Option<String>,
}

/// The default of `closure`.
fn no() -> YesNo {
    YesNo::No
}

impl PosReference for ReconciliationRequest {
    fn pos_transaction_id(&self) -> Option<&str> {
        self.pos_transaction_id.as_deref()
    }
}

/// Where a reconciliation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ReconciliationStateName {
    /// Durable, not yet sent.
    Pending,
    /// Sent; waiting for the totals.
    InProgress,
    /// The terminal reported its totals.
    Completed,
    /// The terminal refused, or could not be reached.
    Failed,
    /// The answer was lost.
    Unknown,
}

impl From<ReconciliationState> for ReconciliationStateName {
    fn from(state: ReconciliationState) -> Self {
        match state {
            ReconciliationState::Pending => Self::Pending,
            ReconciliationState::InProgress => Self::InProgress,
            ReconciliationState::Completed => Self::Completed,
            ReconciliationState::Failed => Self::Failed,
            ReconciliationState::Unknown => Self::Unknown,
        }
    }
}

/// One line of totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconciliationTotalBody {
    /// The card scheme.
    pub card_circuit: Option<String>,
    /// `Debit` (payments, completions) or `Credit` (refunds), as the terminal reports it.
    pub payment_type: Option<String>,
    /// How many transactions.
    pub count: u32,
    /// Their sum.
    pub amount: AmountBody,
}

impl From<&ReconciliationTotal> for ReconciliationTotalBody {
    fn from(t: &ReconciliationTotal) -> Self {
        Self {
            card_circuit: t.card_circuit.clone(),
            payment_type: t.payment_type.clone(),
            count: t.count,
            amount: t.amount.into(),
        }
    }
}

/// A reconciliation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReconciliationBody {
    /// Its id (`Location: /reconciliations/{reconciliationID}`).
    #[serde(rename = "reconciliationID")]
    pub reconciliation_id: String,
    /// The POI reconciled.
    #[serde(rename = "poiID")]
    pub poi_id: String,
    /// Whether the batch is closed (`yes`/`no`).
    pub closure: YesNo,
    /// Where it stands.
    pub state: ReconciliationStateName,
    /// The totals per scheme and payment type, once reported.
    pub totals: Vec<ReconciliationTotalBody>,
    /// The report the terminal printed (`GET /receipts/{receiptID}`).
    #[serde(rename = "receiptIDs")]
    pub receipt_ids: Vec<String>,
    /// The terminal's result code.
    pub result_code: Option<String>,
    /// Why it failed or is unknown.
    pub reason: Option<String>,
    /// When it was created (UTC).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it last changed (UTC).
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl ReconciliationBody {
    /// The view of `record` with its report receipts.
    pub fn new(record: &ReconciliationRecord, receipts: &[ReceiptRecord]) -> Self {
        Self {
            reconciliation_id: record.id.to_string(),
            poi_id: record.poi_id.to_string(),
            closure: record.closure.into(),
            state: record.state.into(),
            totals: record.totals.iter().map(Into::into).collect(),
            receipt_ids: receipts.iter().map(|r| r.id.to_string()).collect(),
            result_code: record.result_code.clone(),
            reason: record.reason.as_ref().map(ToString::to_string),
            created_at: format_timestamp(record.created_at),
            updated_at: format_timestamp(record.updated_at),
        }
    }
}

/// One reconciliation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReconciliationResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The reconciliation.
    pub reconciliation: ReconciliationBody,
}
