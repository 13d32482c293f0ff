//! Receipts: the terminal's printer output, one record per copy.

use eps_core::receipt::{ReceiptCopy, ReceiptRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::status::{StatusReturn, format_timestamp};

/// Which copy a receipt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ReceiptCopyName {
    /// The cardholder's copy.
    Customer,
    /// The merchant's copy.
    Merchant,
    /// The journal copy.
    Journal,
    /// A report, such as the reconciliation print-out.
    Report,
}

impl From<ReceiptCopy> for ReceiptCopyName {
    fn from(copy: ReceiptCopy) -> Self {
        match copy {
            ReceiptCopy::Customer => Self::Customer,
            ReceiptCopy::Merchant => Self::Merchant,
            ReceiptCopy::Journal => Self::Journal,
            ReceiptCopy::Report => Self::Report,
        }
    }
}

/// A receipt copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptBody {
    /// Its id (`receiptAvailableEvent` names it).
    #[serde(rename = "receiptID")]
    pub receipt_id: String,
    /// The POI whose terminal printed it.
    #[serde(rename = "poiID")]
    pub poi_id: String,
    /// The transaction it belongs to, if any.
    #[serde(rename = "transactionID")]
    pub transaction_id: Option<String>,
    /// The reconciliation it belongs to, if any.
    #[serde(rename = "reconciliationID")]
    pub reconciliation_id: Option<String>,
    /// Which copy.
    pub copy: ReceiptCopyName,
    /// The terminal's printer target (`Printer`, `PrinterReceipt`, `E-Journal`, …).
    pub device_target: String,
    /// The text, line by line; card numbers are masked.
    pub lines: Vec<String>,
    /// When it arrived (UTC).
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&ReceiptRecord> for ReceiptBody {
    fn from(r: &ReceiptRecord) -> Self {
        Self {
            receipt_id: r.id.to_string(),
            poi_id: r.poi_id.to_string(),
            transaction_id: r.transaction_id.map(|id| id.to_string()),
            reconciliation_id: r.reconciliation_id.map(|id| id.to_string()),
            copy: r.copy.into(),
            device_target: r.device_target.clone(),
            lines: r.lines.iter().map(ToString::to_string).collect(),
            created_at: format_timestamp(r.created_at),
        }
    }
}

/// One receipt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceiptResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The receipt.
    pub receipt: ReceiptBody,
}

/// The receipts of a transaction, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceiptListResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The receipts.
    pub receipts: Vec<ReceiptBody>,
}
