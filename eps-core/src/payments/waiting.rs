//! Waiting for outcomes: `Prefer: wait` on the routes that start or read a transaction.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use crate::error::Result;
use crate::event::EventKind;
use crate::ids::{MerchantId, TransactionId};
use crate::transaction::TransactionRecord;

use super::service::PaymentService;

impl PaymentService {
    /// True while an operation (or its recovery) on this node is driving the transaction.
    pub fn is_running(&self, id: &TransactionId) -> bool {
        self.shared.watch.subscribe(id).is_some()
    }

    /// Waits up to `timeout` for a transaction of `merchant`'s site to leave `pending`,
    /// `inProgress` and `unknown`, whichever node drives it, and returns it as it then stands.
    ///
    /// It follows the durable event log, so recovery after a restart and operators' resolutions
    /// end the wait as well as the transaction's own operation.
    pub async fn wait_resolved(
        &self,
        merchant: &MerchantId,
        id: &TransactionId,
        timeout: Duration,
    ) -> Result<TransactionRecord> {
        // Subscribe before reading, so a change between the two is not missed.
        let mut events = self.shared.events.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let record = self.transaction(merchant, id).await?;
            if !record.state.is_unresolved() {
                return Ok(record);
            }
            loop {
                match tokio::time::timeout_at(deadline, events.recv()).await {
                    Err(_) | Ok(Err(RecvError::Closed)) => return Ok(record),
                    Ok(Err(RecvError::Lagged(_))) => break,
                    Ok(Ok(event)) => {
                        if matches!(&event.kind,
                            EventKind::TransactionUpdated { transaction_id, .. } if transaction_id == id)
                        {
                            break;
                        }
                    }
                }
            }
        }
    }
}
