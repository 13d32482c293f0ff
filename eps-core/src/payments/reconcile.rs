//! Reconciliation: end-of-day totals from a terminal, run like a card operation (one at a time).

use std::sync::Arc;

use tracing::Instrument;

use crate::durable::{self, DurableStep};
use crate::error::{Error, Result};
use crate::event::{EventKind, NewEvent};
use crate::idempotency::{Idempotency, IdempotencyRequest, IdempotentResource};
use crate::ids::{MerchantId, PoiId, ReconciliationId};
use crate::receipt::ReceiptRecord;
use crate::reconciliation::{ReconciliationRecord, ReconciliationState};
use crate::store::Created;
use crate::terminal::{ReconciliationOutcome, TerminalResult};

use super::observer::{Observer, Subject};
use super::outcome::result_name;
use super::request::Caller;
use super::service::PaymentService;
use super::shared::Shared;
use super::workers::{Occupant, WorkerClaim};

/// A request for end-of-day totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationRequest {
    /// Who asks.
    pub caller: Caller,
    /// The POI whose terminal is reconciled.
    pub poi_id: PoiId,
    /// True to close the terminal's batch (ReconciliationWithClosure).
    pub closure: bool,
    /// The idempotency key, when sent.
    pub idempotency: Option<IdempotencyRequest>,
}

impl PaymentService {
    /// Starts a reconciliation; returns at once with the stored record (and whether it is replayed).
    pub async fn start_reconciliation(
        &self,
        request: ReconciliationRequest,
    ) -> Result<(ReconciliationRecord, bool)> {
        let shared = &self.shared;
        let merchant = &request.caller.merchant_id;
        // Concurrent retries with one key wait for the first and get its answer.
        let client = &request.caller.client_id;
        let idempotency = request.idempotency.as_ref();
        let _key_guard = shared.idempotency.lock_request(client, idempotency).await;
        if let Some(idem) = idempotency
            && let Some(created) = shared.idempotency.created_before(client, idem).await?
        {
            return Ok((
                self.replay_reconciliation(merchant, created, idem).await?,
                true,
            ));
        }
        let poi = shared
            .sites
            .poi(&request.poi_id)
            .filter(|p| &p.merchant_id == merchant)
            .ok_or(Error::UnknownPoi)?
            .clone();
        let claim = shared.claim_now(&poi.terminal_id, Occupant::Service)?;
        // Closing the batch while a transaction's outcome is unknown would settle totals nobody
        // can check, and could make that transaction's reversal impossible.
        shared.refuse_if_blocked(&poi.terminal_id).await?;
        let now = shared.now();
        let record = ReconciliationRecord {
            id: ReconciliationId::generate(),
            merchant_id: poi.merchant_id.clone(),
            poi_id: poi.poi_id,
            terminal_id: poi.terminal_id.clone(),
            client_id: request.caller.client_id.clone(),
            closure: request.closure,
            state: ReconciliationState::Pending,
            totals: Vec::new(),
            terminal_request_id: shared.request_id(),
            result_code: None,
            reason: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let idempotency = shared.idempotency.record_for(
            client,
            idempotency,
            IdempotentResource::Reconciliation(record.id),
            now,
        );
        match shared
            .store
            .create_reconciliation(&record, idempotency.as_ref(), &[])
            .await?
        {
            Created::Inserted(_) => {}
            Created::Duplicate(existing) => {
                drop(claim);
                let idem = request
                    .idempotency
                    .as_ref()
                    .ok_or_else(|| Error::Internal("duplicate without a key".into()))?;
                let created = Idempotency::resource_of(&existing, idem)?;
                return Ok((
                    self.replay_reconciliation(merchant, created, idem).await?,
                    true,
                ));
            }
        }
        shared
            .journal_best_effort(record.id, "created", format!("closure {}", record.closure))
            .await;
        durable::reached(DurableStep::ReconciliationCreated, record.id).await;
        tokio::spawn(
            run(shared.clone(), claim, record.clone()).instrument(tracing::Span::current()),
        );
        Ok((record, false))
    }

    /// The reconciliation an earlier request with the same key created.
    async fn replay_reconciliation(
        &self,
        merchant: &MerchantId,
        created: IdempotentResource,
        idem: &IdempotencyRequest,
    ) -> Result<ReconciliationRecord> {
        match created {
            IdempotentResource::Reconciliation(id) => self.reconciliation(merchant, &id).await,
            // The key's first request created a transaction: this is another request.
            IdempotentResource::Transaction(_) => {
                Err(Error::IdempotencyMismatch { key: idem.source })
            }
        }
    }

    /// Ends the reconciliations a stopped EPS left `pending` or `inProgress` on this node's idle
    /// terminals: `failed` when the request provably never left (no `sending` step in its
    /// journal), else `unknown` with the reason. A terminal does not repeat a reconciliation's
    /// answer (RepeatLastMessage covers card requests), so the EPS cannot learn it: the totals are
    /// read again with a reconciliation without closure. Either way a
    /// `reconciliationCompletionEvent` tells the site. Returns how many were ended.
    pub(crate) async fn recover_reconciliations(&self) -> Result<usize> {
        let shared = &self.shared;
        let mut ended = 0;
        for mut record in shared.store.unresolved_reconciliations().await? {
            let idle = shared.workers.terminal(&record.terminal_id).is_some()
                && shared.workers.occupant(&record.terminal_id).is_none();
            if !idle {
                continue; // another node's terminal, or one running it now
            }
            let journal = shared.store.journal(&record.id.to_string()).await?;
            let sent = journal.iter().any(|step| step.step == "sending");
            let saved = if sent {
                save(shared, &mut record, ReconciliationState::Unknown, |r| {
                    r.reason = Some(
                        "the EPS stopped while the terminal was reconciling and the terminal \
                         cannot repeat its answer; run a reconciliation without closure to read \
                         the totals"
                            .into(),
                    );
                })
                .await
            } else {
                save(shared, &mut record, ReconciliationState::Failed, |r| {
                    r.result_code = Some("notSent".into());
                    r.reason = Some(
                        "the EPS stopped before sending it to the terminal; nothing was sent"
                            .into(),
                    );
                })
                .await
            };
            match saved {
                Ok(()) => ended += 1,
                Err(err) => {
                    tracing::error!(%err, reconciliation = %record.id, "reconciliation could not be recovered")
                }
            }
        }
        if ended > 0 {
            tracing::warn!(
                count = ended,
                "ended reconciliations left unresolved by the last run"
            );
        }
        Ok(ended)
    }

    /// A reconciliation of `merchant`'s site.
    pub async fn reconciliation(
        &self,
        merchant: &MerchantId,
        id: &ReconciliationId,
    ) -> Result<ReconciliationRecord> {
        self.shared
            .store
            .reconciliation(id)
            .await?
            .filter(|r| &r.merchant_id == merchant)
            .ok_or(Error::NotFound("reconciliation"))
    }

    /// The report receipts of a reconciliation.
    pub async fn reconciliation_receipts(
        &self,
        merchant: &MerchantId,
        id: &ReconciliationId,
    ) -> Result<Vec<ReceiptRecord>> {
        self.reconciliation(merchant, id).await?;
        self.shared.store.reconciliation_receipts(id).await
    }

    /// Waits up to `timeout` for a reconciliation to end and returns it as it then stands.
    pub async fn wait_reconciliation(
        &self,
        merchant: &MerchantId,
        id: &ReconciliationId,
        timeout: std::time::Duration,
    ) -> Result<ReconciliationRecord> {
        let mut subscription = self.shared.events.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let record = self.reconciliation(merchant, id).await?;
            if !matches!(
                record.state,
                ReconciliationState::Pending | ReconciliationState::InProgress
            ) {
                return Ok(record);
            }
            let next = tokio::time::timeout_at(deadline, subscription.recv()).await;
            match next {
                Err(_) => return Ok(record),
                Ok(Ok(event)) if !matches!(&event.kind, EventKind::ReconciliationCompletion { reconciliation_id, .. } if reconciliation_id == id) =>
                    {}
                Ok(_) => {}
            }
        }
    }
}

async fn run(shared: Arc<Shared>, claim: WorkerClaim, mut record: ReconciliationRecord) {
    let observer = Arc::new(Observer::for_callbacks(
        shared.clone(),
        record.merchant_id.clone(),
        record.poi_id,
        Subject::Reconciliation(record.id),
    ));
    if let Err(err) = save(
        &shared,
        &mut record,
        ReconciliationState::InProgress,
        |_| {},
    )
    .await
    {
        tracing::error!(%err, reconciliation = %record.id, "reconciliation could not start");
        return;
    }
    let outcome = claim
        .terminal()
        .reconcile(record.terminal_request_id.clone(), record.closure, observer)
        .await;
    drop(claim);
    let result = match outcome {
        ReconciliationOutcome::Answered(report) => {
            let state = if report.result == TerminalResult::Success { ReconciliationState::Completed } else { ReconciliationState::Failed };
            let code = match &report.error_code {
                Some(code) => format!("{}/{code}", result_name(&report.result)),
                None => result_name(&report.result).to_owned(),
            };
            save(&shared, &mut record, state, |r| {
                r.totals = report.totals;
                r.result_code = Some(code);
                if state == ReconciliationState::Failed {
                    r.reason = Some("the terminal refused the reconciliation".into());
                }
            })
            .await
        }
        ReconciliationOutcome::NotSent { reason } => {
            save(&shared, &mut record, ReconciliationState::Failed, |r| {
                r.result_code = Some(super::operation::UNREACHABLE.into());
                r.reason = Some(format!("the terminal could not be reached; nothing was sent: {reason}").into());
            })
            .await
        }
        ReconciliationOutcome::Lost { reason } => {
            save(&shared, &mut record, ReconciliationState::Unknown, |r| {
                r.reason = Some(format!("the terminal's answer was lost ({reason}); run a reconciliation without closure to read the totals").into());
            })
            .await
        }
    };
    match result {
        Err(err) => {
            tracing::error!(%err, reconciliation = %record.id, "reconciliation outcome could not be saved")
        }
        Ok(()) => durable::reached(DurableStep::ReconciliationConcluded, record.id).await,
    }
}

async fn save(
    shared: &Shared,
    record: &mut ReconciliationRecord,
    to: ReconciliationState,
    mutate: impl FnOnce(&mut ReconciliationRecord),
) -> Result<()> {
    let mut next = record.clone();
    mutate(&mut next);
    next.state = to;
    next.version = record.version + 1;
    next.updated_at = shared.now();
    let events: Vec<NewEvent> = if matches!(
        to,
        ReconciliationState::Pending | ReconciliationState::InProgress
    ) {
        Vec::new()
    } else {
        vec![NewEvent {
            merchant_id: Some(next.merchant_id.clone()),
            at: next.updated_at,
            kind: EventKind::ReconciliationCompletion {
                reconciliation_id: next.id,
                poi_id: next.poi_id,
                state: to,
            },
        }]
    };
    shared.store.update_reconciliation(&next, &events).await?;
    shared.events.committed();
    shared
        .journal_best_effort(
            next.id,
            "state",
            format!("{} -> {}", record.state.as_str(), to.as_str()),
        )
        .await;
    *record = next;
    Ok(())
}
