//! What every part of the payment service shares, and the one way a transaction state is saved.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use time::{Duration, OffsetDateTime};

use crate::clock::{SharedClock, to_millis_precision};
use crate::error::{Error, Result};
use crate::event::{EventKind, EventLog, NewEvent};
use crate::idempotency::Idempotency;
use crate::ids::{TerminalId, TerminalRequestId, TransactionId};
use crate::redact::MaskedText;
use crate::site::SiteDirectory;
use crate::store::Store;
use crate::transaction::{JournalEntry, TransactionRecord, TransactionState};

use super::prompts::PromptWaiters;
use super::watch::TransactionWatch;
use super::workers::{ClaimError, Occupant, TerminalWorkers, WorkerClaim};

/// Tunables of the payment service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentPolicy {
    /// How long an idempotency key is remembered.
    pub idempotency_ttl: Duration,
    /// The longest an Input prompt waits for an answer, whatever the terminal allows.
    pub input_timeout_cap: Duration,
    /// Recovery attempts (RepeatLastMessage) before a transaction is left `unknown` for later.
    pub recovery_attempts: u32,
    /// Pause between recovery attempts.
    pub recovery_backoff: std::time::Duration,
    /// How often unresolved transactions are retried in the background.
    pub recovery_interval: std::time::Duration,
}

impl Default for PaymentPolicy {
    fn default() -> Self {
        Self {
            idempotency_ttl: Duration::hours(24),
            input_timeout_cap: Duration::seconds(120),
            recovery_attempts: 5,
            recovery_backoff: std::time::Duration::from_secs(2),
            recovery_interval: std::time::Duration::from_secs(30),
        }
    }
}

/// The service's shared context.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) sites: Arc<SiteDirectory>,
    pub(crate) clock: SharedClock,
    pub(crate) events: EventLog,
    pub(crate) workers: TerminalWorkers,
    pub(crate) watch: TransactionWatch,
    pub(crate) prompts: PromptWaiters,
    pub(crate) idempotency: Idempotency,
    pub(crate) policy: PaymentPolicy,
    /// Numbers consecutive RequestIDs; starts at a random value so restarts do not repeat.
    pub(crate) request_counter: AtomicU32,
}

impl Shared {
    /// The current time at store precision.
    pub(crate) fn now(&self) -> OffsetDateTime {
        to_millis_precision(self.clock.now())
    }

    /// A fresh OPI RequestID: the clock's milliseconds and a counter, so two requests of one
    /// node differ even within one millisecond (or under a clock that stands still).
    ///
    /// At most 12 digits (8 of milliseconds, wrapping every 27 hours, and 4 of the counter), so
    /// card-number redaction (13 to 19 digits) never masks a RequestID in the journal.
    pub(crate) fn request_id(&self) -> TerminalRequestId {
        let millis = self.clock.now().unix_timestamp_nanos() / 1_000_000;
        let sequence = self.request_counter.fetch_add(1, Ordering::Relaxed);
        TerminalRequestId::generate(millis.rem_euclid(100_000_000), u128::from(sequence))
    }

    /// Claims a terminal for a new operation now, or says why not in the API's terms: busy (with
    /// the active transaction, when there is one) or not driven by this node.
    pub(crate) fn claim_now(
        &self,
        terminal: &TerminalId,
        occupant: Occupant,
    ) -> Result<WorkerClaim> {
        self.workers
            .try_claim(terminal, occupant)
            .map_err(|error| match error {
                ClaimError::Busy(Occupant::Transaction(active)) => Error::PoiBusy {
                    active: Some(active),
                },
                ClaimError::Busy(Occupant::Service) => Error::PoiBusy { active: None },
                ClaimError::UnknownTerminal => Error::PoiUnavailable {
                    terminal: terminal.clone(),
                    reason: "not driven by this node".into(),
                },
            })
    }

    /// A journal step about `subject`, its detail masked.
    pub(crate) fn entry(
        &self,
        subject: impl ToString,
        step: &str,
        detail: impl Into<String>,
    ) -> JournalEntry {
        JournalEntry {
            subject_id: subject.to_string(),
            at: self.now(),
            step: step.to_owned(),
            detail: MaskedText::new(detail.into()),
        }
    }

    /// Appends a journal step on its own (one commit); steps that accompany a state change or a
    /// receipt are written in that change's commit instead.
    pub(crate) async fn journal(
        &self,
        subject: impl ToString,
        step: &str,
        detail: impl Into<String>,
    ) -> Result<()> {
        self.store
            .append_journal(&self.entry(subject, step, detail))
            .await
    }

    /// Journals a step, logging (not failing) when the store refuses: for steps after the fact.
    pub(crate) async fn journal_best_effort(
        &self,
        subject: impl ToString,
        step: &str,
        detail: impl Into<String>,
    ) {
        let subject = subject.to_string();
        if let Err(err) = self.journal(&subject, step, detail).await {
            tracing::error!(%err, transaction = %subject, step, "journal write failed");
        }
    }

    /// Saves `record` moved to `to` (after `mutate`), with its event, and tells waiters.
    ///
    /// The record is persisted before anyone hears of the new state.
    pub(crate) async fn save(
        &self,
        record: &mut TransactionRecord,
        to: TransactionState,
        mutate: impl FnOnce(&mut TransactionRecord),
    ) -> Result<()> {
        self.save_with(record, to, mutate, Vec::new()).await
    }

    /// [`Shared::save`] with journal steps written in the same commit as the state change
    /// (after them comes the `state` step itself).
    pub(crate) async fn save_with(
        &self,
        record: &mut TransactionRecord,
        to: TransactionState,
        mutate: impl FnOnce(&mut TransactionRecord),
        mut journal: Vec<JournalEntry>,
    ) -> Result<()> {
        let mut next = record.clone();
        mutate(&mut next);
        next.state = record.state.transition(to)?;
        next.version = record.version + 1;
        next.updated_at = self.now();
        let event = NewEvent {
            merchant_id: Some(next.merchant_id.clone()),
            at: next.updated_at,
            kind: EventKind::TransactionUpdated {
                transaction_id: next.id,
                poi_id: next.poi_id,
                transaction_kind: next.kind,
                state: next.state,
            },
        };
        journal.push(self.entry(
            next.id,
            "state",
            format!("{} -> {}", record.state, next.state),
        ));
        self.store
            .update_transaction(&next, &[event], &journal)
            .await?;
        self.events.committed();
        self.watch.publish(&next);
        *record = next;
        Ok(())
    }

    /// Loads a transaction fresh from the store.
    pub(crate) async fn load(&self, id: &TransactionId) -> Result<TransactionRecord> {
        self.store
            .transaction(id)
            .await?
            .ok_or(Error::UnknownTransaction)
    }

    /// The terminal serving a transaction's POI on this node.
    pub(crate) fn terminal_of(&self, id: &TerminalId) -> Result<crate::terminal::SharedTerminal> {
        self.workers
            .terminal(id)
            .ok_or_else(|| Error::PoiUnavailable {
                terminal: id.clone(),
                reason: "not driven by this node".into(),
            })
    }
}
