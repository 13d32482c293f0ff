//! Reconciliations: end-of-day totals taken from a terminal, with or without closing its batch.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{ClientId, MerchantId, PoiId, ReconciliationId, TerminalId, TerminalRequestId};
use crate::money::Amount;
use crate::redact::MaskedText;

/// Where a reconciliation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReconciliationState {
    /// The terminal reported its totals.
    Completed,
    /// The terminal refused or could not be reached.
    Failed,
    /// Sent to the terminal; waiting for its totals.
    InProgress,
    /// Durable, not yet sent.
    Pending,
    /// The answer was lost.
    Unknown,
}

impl ReconciliationState {
    /// The name used in the API and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::InProgress => "inProgress",
            Self::Pending => "pending",
            Self::Unknown => "unknown",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Completed,
            Self::Failed,
            Self::InProgress,
            Self::Pending,
            Self::Unknown,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// One line of totals: a card circuit and payment type with its count and sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationTotal {
    /// The card scheme, e.g. `VISA`.
    pub card_circuit: Option<String>,
    /// `Debit`, `Credit`, …
    pub payment_type: Option<String>,
    /// How many payments.
    pub count: u32,
    /// Their sum.
    pub amount: Amount,
}

/// A stored reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationRecord {
    /// Its id.
    pub id: ReconciliationId,
    /// The site.
    pub merchant_id: MerchantId,
    /// The POI whose terminal was reconciled.
    pub poi_id: PoiId,
    /// That terminal.
    pub terminal_id: TerminalId,
    /// The OAuth2 client that asked.
    pub client_id: ClientId,
    /// True for ReconciliationWithClosure (ends the terminal's batch).
    pub closure: bool,
    /// Where it stands.
    pub state: ReconciliationState,
    /// The totals, once reported.
    pub totals: Vec<ReconciliationTotal>,
    /// The OPI RequestID used.
    pub terminal_request_id: TerminalRequestId,
    /// The terminal's result code.
    pub result_code: Option<String>,
    /// Why it failed or is unknown (terminal texts, masked).
    pub reason: Option<MaskedText>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
    /// Optimistic-concurrency version.
    pub version: i64,
}
