//! Operators' search over every site's transactions.

use time::OffsetDateTime;

use crate::ids::{MerchantId, PoiId, TransactionId};
use crate::money::Currency;
use crate::transaction::{TransactionKind, TransactionState};

/// Requested amounts within a range, in one currency (minor units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountRange {
    /// The currency.
    pub currency: Currency,
    /// At least this many minor units.
    pub min: Option<i64>,
    /// At most this many minor units.
    pub max: Option<i64>,
}

/// Filter and page over all sites' transactions.
///
/// Newest first, except the queue of unknown outcomes (`state` = `unknown`), which is oldest
/// first: the one waiting longest for a person comes first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSearch {
    /// Only this site.
    pub merchant_id: Option<MerchantId>,
    /// Only this POI.
    pub poi_id: Option<PoiId>,
    /// Only this state.
    pub state: Option<TransactionState>,
    /// Only this kind.
    pub kind: Option<TransactionKind>,
    /// Created at or after.
    pub created_from: Option<OffsetDateTime>,
    /// Created before.
    pub created_to: Option<OffsetDateTime>,
    /// Only requested amounts in this range.
    pub amount: Option<AmountRange>,
    /// Page cursor: only transactions after this one in the listing order.
    pub after: Option<TransactionId>,
    /// Page size.
    pub limit: u32,
}

impl TransactionSearch {
    /// True when the listing runs oldest first (the unknown-outcome queue).
    pub fn oldest_first(&self) -> bool {
        self.state == Some(TransactionState::Unknown)
    }
}
