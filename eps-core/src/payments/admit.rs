//! Admission of a new card transaction: checked, its terminal claimed and not blocked by an
//! earlier transaction of unknown outcome, then stored `pending` with its idempotency key in one
//! commit. A follow-up is judged and inserted under its original's row lock, against every other
//! follow-up of that original (`follow_up`).

use std::sync::Mutex;

use crate::durable::{self, DurableStep};
use crate::error::{Error, Result};
use crate::event::{EventKind, NewEvent};
use crate::idempotency::{IdempotencyRecord, IdempotentResource};
use crate::ids::TransactionId;
use crate::money::Amount;
use crate::redact::MaskedText;
use crate::site::Poi;
use crate::store::{Created, TransactionWrite};
use crate::transaction::{TransactionRecord, TransactionState};

use super::request::{TransactionRequest, check_request};
use super::shared::Shared;
use super::workers::{Occupant, WorkerClaim};

/// A transaction stored `pending`, with its terminal claimed for it.
pub(crate) struct Admission {
    /// The stored record.
    pub(crate) record: TransactionRecord,
    /// Its original as judged under the row lock, for a follow-up.
    pub(crate) original: Option<TransactionRecord>,
    /// The terminal, held until the operation ends.
    pub(crate) claim: WorkerClaim,
}

/// What admission came to.
pub(crate) enum Admitted {
    /// Stored and ready to run.
    New(Box<Admission>),
    /// The idempotency key was taken meanwhile; nothing was stored.
    Duplicate(IdempotencyRecord),
}

/// Admits `request` on `poi`; `original` is the transaction a follow-up refers to, as read
/// before any lock (the authoritative check is repeated under the lock).
pub(crate) async fn admit(
    shared: &Shared,
    request: &TransactionRequest,
    poi: &Poi,
    original: Option<&TransactionRecord>,
) -> Result<Admitted> {
    // An early answer, before the terminal is claimed.
    let follow_ups = match original {
        Some(original) => shared.store.follow_ups(&original.id).await?,
        None => Vec::new(),
    };
    check_request(request, original, &follow_ups)?;
    let id = TransactionId::generate();
    let claim = shared.claim_now(&poi.terminal_id, Occupant::Transaction(id))?;
    shared.refuse_if_blocked(&poi.terminal_id).await?;
    let now = shared.now();
    let terminal_request_id = shared.request_id();
    let idempotency = shared.idempotency.record_for(
        &request.caller.client_id,
        request.idempotency.as_ref(),
        IdempotentResource::Transaction(id),
        now,
    );
    let write = |amount: Amount| {
        let record = TransactionRecord {
            id,
            kind: request.kind,
            state: TransactionState::Pending,
            merchant_id: poi.merchant_id.clone(),
            poi_id: poi.poi_id,
            terminal_id: poi.terminal_id.clone(),
            client_id: request.caller.client_id.clone(),
            connection_id: Some(request.caller.connection_id),
            amount,
            approved_amount: None,
            refunded_amount: None,
            original_id: request.original_id,
            terminal_request_id: terminal_request_id.clone(),
            reference: request.reference.as_deref().map(MaskedText::new),
            authorisation: None,
            result_code: None,
            reason: None,
            unknown_since: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let event = NewEvent {
            merchant_id: Some(record.merchant_id.clone()),
            at: now,
            kind: EventKind::TransactionUpdated {
                transaction_id: id,
                poi_id: record.poi_id,
                transaction_kind: record.kind,
                state: record.state,
            },
        };
        let detail = format!(
            "{} {} on POI {} as RequestID {}",
            record.kind.as_str(),
            amount,
            poi.poi_id,
            record.terminal_request_id
        );
        let journal = vec![shared.entry(id, "created", detail)];
        TransactionWrite {
            record,
            events: vec![event],
            journal,
        }
    };
    let (created, stored) = match original {
        None => {
            let stored = write(check_request(request, None, &[])?);
            let created = shared
                .store
                .create_transaction(
                    &stored.record,
                    idempotency.as_ref(),
                    &stored.events,
                    &stored.journal,
                )
                .await?;
            (created, Some((None, stored.record)))
        }
        Some(original) => {
            let decided = Mutex::new(None);
            let decide = |original: &TransactionRecord, follow_ups: &[TransactionRecord]| {
                let stored = write(check_request(request, Some(original), follow_ups)?);
                *decided.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((Some(original.clone()), stored.record.clone()));
                Ok(stored)
            };
            let created = shared
                .store
                .create_follow_up(&original.id, idempotency.as_ref(), &decide)
                .await?;
            let stored = decided.into_inner().unwrap_or_else(|p| p.into_inner());
            (created, stored)
        }
    };
    match created {
        Created::Inserted(_) => {
            shared.events.committed();
            durable::reached(DurableStep::TransactionCreated, id).await;
            let (original, record) = stored.ok_or_else(|| {
                Error::Internal(format!("transaction {id} was stored without its record"))
            })?;
            Ok(Admitted::New(Box::new(Admission {
                record,
                original,
                claim,
            })))
        }
        Created::Duplicate(existing) => Ok(Admitted::Duplicate(existing)),
    }
}
