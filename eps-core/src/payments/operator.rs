//! Operators settle what the EPS could not prove: a transaction left `unknown` is resolved by
//! hand, after checking the terminal's own records, with a note kept in its journal.

use std::sync::Arc;

use crate::durable::{self, DurableStep};
use crate::error::{Error, Result};
use crate::ids::{ClientId, TransactionId};
use crate::transaction::{TransactionRecord, TransactionState};

use super::service::PaymentService;
use super::shared::Shared;
use super::workers::Occupant;

impl PaymentService {
    /// A transaction of any site (operators).
    pub async fn find(&self, id: &TransactionId) -> Result<TransactionRecord> {
        self.shared.load(id).await
    }

    /// Resolves an `unknown` transaction to `approved`, `declined` or `failed` on an operator's
    /// word; `note` says what the operator checked. The original of an approved follow-up is
    /// settled as if the terminal had answered, in the same commit as the resolution and its
    /// journal step.
    ///
    /// The resolution runs in a task of its own: a caller that goes away (an HTTP client that
    /// disconnects) cannot stop it halfway.
    pub async fn resolve(
        &self,
        id: &TransactionId,
        to: TransactionState,
        operator: &ClientId,
        note: &str,
    ) -> Result<TransactionRecord> {
        use TransactionState::{Approved, Declined, Failed};
        if !matches!(to, Approved | Declined | Failed) {
            return Err(Error::InvalidState(format!(
                "state: an operator resolves to approved, declined or failed, not {to}"
            )));
        }
        let task = tokio::spawn(resolve_now(
            self.shared.clone(),
            *id,
            to,
            operator.clone(),
            note.to_owned(),
        ));
        task.await
            .map_err(|err| Error::Internal(format!("the resolution task failed: {err}")))?
    }
}

async fn resolve_now(
    shared: Arc<Shared>,
    id: TransactionId,
    to: TransactionState,
    operator: ClientId,
    note: String,
) -> Result<TransactionRecord> {
    let mut record = shared.load(&id).await?;
    if record.state != TransactionState::Unknown {
        return Err(Error::InvalidState(format!(
            "transaction {id} is {}; only an unknown transaction can be resolved",
            record.state
        )));
    }
    if shared.workers.occupant(&record.terminal_id) == Some(Occupant::Transaction(id)) {
        return Err(Error::InvalidState(format!(
            "transaction {id} is being recovered from its terminal now; resolve it once \
             recovery has ended"
        )));
    }
    let step = shared.entry(
        id,
        "resolution",
        format!(
            "operator {operator} resolved it from {} to {to}: {note}",
            record.state
        ),
    );
    // A recovery that saves first makes this save fail with a conflict (versions differ).
    shared
        .save_settling(
            &mut record,
            to,
            |r| {
                r.result_code = Some(RESOLVED_BY_OPERATOR.into());
                r.reason = Some(format!("resolved by operator {operator}: {note}").into());
            },
            vec![step],
        )
        .await?;
    shared.watch.forget(&id);
    durable::reached(DurableStep::TransactionResolved, id).await;
    Ok(record)
}

/// The result code of a transaction an operator resolved.
pub const RESOLVED_BY_OPERATOR: &str = "resolvedByOperator";
