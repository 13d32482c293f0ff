//! Operators settle what the EPS could not prove: a transaction left `unknown` is resolved by
//! hand, after checking the terminal's own records, with a note kept in its journal.

use crate::durable::{self, DurableStep};
use crate::error::{Error, Result};
use crate::ids::{ClientId, TransactionId};
use crate::transaction::{TransactionRecord, TransactionState};

use super::operation::settle_original;
use super::service::PaymentService;
use super::workers::Occupant;

impl PaymentService {
    /// A transaction of any site (operators).
    pub async fn find(&self, id: &TransactionId) -> Result<TransactionRecord> {
        self.shared.load(id).await
    }

    /// Resolves an `unknown` transaction to `approved`, `declined` or `failed` on an operator's
    /// word; `note` says what the operator checked. The original of an approved follow-up is
    /// settled as if the terminal had answered.
    pub async fn resolve(
        &self,
        id: &TransactionId,
        to: TransactionState,
        operator: &ClientId,
        note: &str,
    ) -> Result<TransactionRecord> {
        use TransactionState::{Approved, Declined, Failed, Unknown};
        if !matches!(to, Approved | Declined | Failed) {
            return Err(Error::InvalidState(format!(
                "state: an operator resolves to approved, declined or failed, not {to}"
            )));
        }
        let shared = &self.shared;
        let mut record = shared.load(id).await?;
        if record.state != Unknown {
            return Err(Error::InvalidState(format!(
                "transaction {id} is {}; only an unknown transaction can be resolved",
                record.state
            )));
        }
        if shared.workers.occupant(&record.terminal_id) == Some(Occupant::Transaction(*id)) {
            return Err(Error::InvalidState(format!(
                "transaction {id} is being recovered from its terminal now; resolve it once \
                 recovery has ended"
            )));
        }
        let from = record.state;
        // A recovery that saves first makes this save fail with a conflict (versions differ).
        shared
            .save(&mut record, to, |r| {
                r.result_code = Some(RESOLVED_BY_OPERATOR.into());
                r.reason = Some(format!("resolved by operator {operator}: {note}"));
            })
            .await?;
        durable::reached(DurableStep::TransactionResolved, id).await;
        shared.watch.forget(id);
        shared
            .journal_best_effort(
                id,
                "resolution",
                format!("operator {operator} resolved it from {from} to {to}: {note}"),
            )
            .await;
        if record.state == Approved {
            settle_original(shared, &record).await?;
        }
        Ok(record)
    }
}

/// The result code of a transaction an operator resolved.
pub const RESOLVED_BY_OPERATOR: &str = "resolvedByOperator";
