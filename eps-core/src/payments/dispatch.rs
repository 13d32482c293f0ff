//! How long starting a card transaction waits for its request to reach the terminal, and the
//! answer to a retry that finds the transaction its key created.

use crate::error::{Error, Result};
use crate::idempotency::{Idempotency, IdempotencyRequest, IdempotentResource};
use crate::ids::{MerchantId, PoiId};
use crate::terminal::Terminal;
use crate::transaction::TransactionState;

use super::service::{PaymentService, Started};

/// What a card request waits for dispatch beyond the terminal's connect timeout before it
/// answers `pending` (writing the request and saving `inProgress` take milliseconds).
pub const DISPATCH_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// The dispatch bound of a terminal: its connect timeout plus [`DISPATCH_MARGIN`].
pub(super) fn dispatch_bound(terminal: &dyn Terminal) -> std::time::Duration {
    terminal.connect_timeout() + DISPATCH_MARGIN
}

impl PaymentService {
    /// The idempotency keys of this service's clients (for the requests that create nothing).
    pub fn idempotency(&self) -> &Idempotency {
        &self.shared.idempotency
    }

    /// How long starting a card transaction on `poi` waits for the request to be on the wire
    /// before it answers with the transaction `pending`: the terminal's connect timeout plus
    /// [`DISPATCH_MARGIN`]. `None` for a POI this node does not drive.
    pub fn dispatch_bound(&self, poi: &PoiId) -> Option<std::time::Duration> {
        let poi = self.shared.sites.poi(poi)?;
        let terminal = self.shared.workers.terminal(&poi.terminal_id)?;
        Some(dispatch_bound(terminal.as_ref()))
    }

    /// The transaction an earlier request with the same key created.
    pub(super) async fn replay(
        &self,
        merchant: &MerchantId,
        created: IdempotentResource,
        idem: &IdempotencyRequest,
    ) -> Result<Started> {
        let IdempotentResource::Transaction(id) = created else {
            // The key's first request created a reconciliation: this is another request.
            return Err(Error::IdempotencyMismatch { key: idem.source });
        };
        let record = self.transaction(merchant, &id).await?;
        let bound = self
            .dispatch_bound(&record.poi_id)
            .unwrap_or(DISPATCH_MARGIN);
        let record = if record.state == TransactionState::Pending {
            // The first request is still dispatching: answer as it will, within the same bound.
            self.wait_until(&id, bound, |r| r.state != TransactionState::Pending)
                .await?
        } else {
            record
        };
        Ok(Started {
            transaction: record,
            replayed: true,
        })
    }
}
