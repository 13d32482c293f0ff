//! Receipts: printer output a terminal sent over its device channel, stored per copy.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{MerchantId, PoiId, ReceiptId, ReconciliationId, TransactionId};
use crate::redact::MaskedText;

/// Which copy a receipt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReceiptCopy {
    /// The cardholder's copy.
    Customer,
    /// The electronic or paper journal copy.
    Journal,
    /// The merchant's copy.
    Merchant,
    /// A report, such as the end-of-day reconciliation print-out.
    Report,
}

impl ReceiptCopy {
    /// The name used in the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Journal => "journal",
            Self::Merchant => "merchant",
            Self::Report => "report",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Customer, Self::Journal, Self::Merchant, Self::Report]
            .into_iter()
            .find(|c| c.as_str() == value)
    }
}

/// A stored receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRecord {
    /// Its id.
    pub id: ReceiptId,
    /// The site.
    pub merchant_id: MerchantId,
    /// The POI whose terminal printed it.
    pub poi_id: PoiId,
    /// The transaction it belongs to, if any.
    pub transaction_id: Option<TransactionId>,
    /// The reconciliation it belongs to, if any.
    pub reconciliation_id: Option<ReconciliationId>,
    /// Which copy.
    pub copy: ReceiptCopy,
    /// The OPI device target it was printed to (`Printer`, `PrinterReceipt`, `E-Journal`, …).
    pub device_target: String,
    /// The text lines, in order, masked.
    pub lines: Vec<MaskedText>,
    /// When it arrived.
    pub created_at: OffsetDateTime,
}
