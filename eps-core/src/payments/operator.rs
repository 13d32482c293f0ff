//! Operators settle what the EPS could not prove: a transaction left `unknown` is resolved by
//! hand, after checking the terminal's own records, with a note kept in its journal. An approval
//! carries the terminal's trace number (STAN) from those records, so a later completion or
//! reversal can name the transaction to the terminal.

use std::sync::Arc;

use tracing::Instrument;

use crate::durable::{self, DurableStep};
use crate::error::{Error, Result};
use crate::ids::{ClientId, TransactionId};
use crate::transaction::{TransactionRecord, TransactionState};

use super::service::PaymentService;
use super::shared::Shared;
use super::workers::Occupant;

/// What an operator found in the terminal's own records about an `unknown` transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The terminal approved it.
    Approved {
        /// The terminal's trace number of the approval.
        stan: String,
        /// The issuer's approval code, when the records show it.
        approval_code: Option<String>,
    },
    /// The terminal declined it.
    Declined,
    /// The terminal never ran it.
    Failed,
}

impl Resolution {
    /// The state the transaction is resolved to.
    pub const fn state(&self) -> TransactionState {
        match self {
            Self::Approved { .. } => TransactionState::Approved,
            Self::Declined => TransactionState::Declined,
            Self::Failed => TransactionState::Failed,
        }
    }

    /// Records the terminal's references of an approval on `record`.
    fn record_evidence(&self, record: &mut TransactionRecord) {
        if let Self::Approved {
            stan,
            approval_code,
        } = self
        {
            let authorisation = record.authorisation.get_or_insert_with(Default::default);
            authorisation.stan = Some(stan.clone());
            if approval_code.is_some() {
                authorisation.approval_code = approval_code.clone();
            }
        }
    }
}

impl PaymentService {
    /// A transaction of any site (operators).
    pub async fn find(&self, id: &TransactionId) -> Result<TransactionRecord> {
        self.shared.load(id).await
    }

    /// Resolves an `unknown` transaction to `approved` (with the terminal's STAN), `declined` or
    /// `failed` on an operator's word; `note` says what the operator checked. The original of an approved follow-up is
    /// settled as if the terminal had answered, in the same commit as the resolution and its
    /// journal step.
    ///
    /// The resolution runs in a task of its own: a caller that goes away (an HTTP client that
    /// disconnects) cannot stop it halfway.
    pub async fn resolve(
        &self,
        id: &TransactionId,
        resolution: Resolution,
        operator: &ClientId,
        note: &str,
    ) -> Result<TransactionRecord> {
        if let Resolution::Approved { stan, .. } = &resolution
            && stan.trim().is_empty()
        {
            return Err(Error::InvalidState(
                "stan: an approval needs the terminal's trace number from its records".into(),
            ));
        }
        let task = tokio::spawn(
            resolve_now(
                self.shared.clone(),
                *id,
                resolution,
                operator.clone(),
                note.to_owned(),
            )
            .instrument(tracing::Span::current()),
        );
        task.await
            .map_err(|err| Error::Internal(format!("the resolution task failed: {err}")))?
    }
}

async fn resolve_now(
    shared: Arc<Shared>,
    id: TransactionId,
    resolution: Resolution,
    operator: ClientId,
    note: String,
) -> Result<TransactionRecord> {
    let to = resolution.state();
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
                resolution.record_evidence(r);
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
