//! What every part of the payment service shares, and the one way a transaction state is saved.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use time::{Duration, OffsetDateTime};

use crate::clock::{SharedClock, to_millis_precision};
use crate::error::{Error, Result};
use crate::event::{EventKind, EventLog, NewEvent};
use crate::idempotency::Idempotency;
use crate::ids::{TerminalId, TerminalRequestId, TransactionId};
use crate::opi_trace::TraceSink;
use crate::redact::MaskedText;
use crate::site::SiteDirectory;
use crate::store::{Store, TransactionWrite};
use crate::transaction::{JournalEntry, TransactionRecord, TransactionState};

use super::follow_up::settlement;
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
    /// How often the background retrier looks for unresolved transactions that are due.
    pub recovery_interval: std::time::Duration,
    /// The first background retry of an unresolved transaction comes this long after it is
    /// first seen; each later one twice as long after the previous …
    pub retry_initial: std::time::Duration,
    /// … but never longer than this.
    pub retry_max: std::time::Duration,
}

impl Default for PaymentPolicy {
    fn default() -> Self {
        Self {
            idempotency_ttl: Duration::hours(24),
            input_timeout_cap: Duration::seconds(120),
            recovery_attempts: 5,
            recovery_backoff: std::time::Duration::from_secs(2),
            recovery_interval: std::time::Duration::from_secs(5),
            retry_initial: std::time::Duration::from_secs(10),
            retry_max: std::time::Duration::from_secs(600),
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
    /// Where the OPI trace of each transaction goes.
    pub(crate) trace: Arc<dyn TraceSink>,
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

    /// Refuses a new request on `terminal` while a transaction of it has an unknown outcome
    /// (`unknown`, or `pending`/`inProgress` with no operation running): a new request would
    /// overwrite the terminal's evidence of that one. Call it holding the terminal's claim.
    pub(crate) async fn refuse_if_blocked(&self, terminal: &TerminalId) -> Result<()> {
        match self.store.unresolved_on_terminal(terminal).await? {
            Some(blocking) => Err(Error::PoiBlocked {
                terminal: terminal.clone(),
                blocking: blocking.id,
                state: blocking.state,
            }),
            None => Ok(()),
        }
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
        journal: Vec<JournalEntry>,
    ) -> Result<()> {
        self.write_state(record, to, mutate, journal, false).await
    }

    /// [`Shared::save_with`] for a follow-up's outcome: its original's new state (`completed`,
    /// `reversed`, `refunded`, or a larger refunded amount) is decided under the original's row
    /// lock and committed in the same database transaction, so a crash can never keep one
    /// without the other. A transaction without an original is saved as by `save_with`.
    pub(crate) async fn save_settling(
        &self,
        record: &mut TransactionRecord,
        to: TransactionState,
        mutate: impl FnOnce(&mut TransactionRecord),
        journal: Vec<JournalEntry>,
    ) -> Result<()> {
        self.write_state(record, to, mutate, journal, true).await
    }

    async fn write_state(
        &self,
        record: &mut TransactionRecord,
        to: TransactionState,
        mutate: impl FnOnce(&mut TransactionRecord),
        mut journal: Vec<JournalEntry>,
        settle: bool,
    ) -> Result<()> {
        let mut next = record.clone();
        mutate(&mut next);
        next.state = record.state.transition(to)?;
        next.version = record.version + 1;
        next.updated_at = self.now();
        if next.state == TransactionState::Unknown && record.state != TransactionState::Unknown {
            next.unknown_since = Some(next.updated_at);
        }
        journal.push(self.entry(
            next.id,
            "state",
            format!("{} -> {}", record.state, next.state),
        ));
        let write = TransactionWrite {
            events: vec![self.state_event(&next)],
            record: next,
            journal,
        };
        if settle && write.record.original_id.is_some() {
            let settle = |original: &TransactionRecord, follow_ups: &[TransactionRecord]| {
                Ok(self.settled_original(original, follow_ups, &write.record))
            };
            self.store.update_follow_up(&write, &settle).await?;
        } else {
            self.store
                .update_transaction(&write.record, &write.events, &write.journal)
                .await?;
        }
        self.events.committed();
        committed_state(record.state, &write.record);
        self.watch.publish(&write.record);
        *record = write.record;
        Ok(())
    }

    /// The original's new record when `follow_ups` (with `by` among them) settle it; `None` when
    /// it stays as it is. A change its state machine forbids is logged, not forced: the
    /// follow-up's own outcome is the terminal's truth and is saved regardless.
    fn settled_original(
        &self,
        original: &TransactionRecord,
        follow_ups: &[TransactionRecord],
        by: &TransactionRecord,
    ) -> Option<TransactionWrite> {
        let settled = settlement(original, follow_ups)?;
        if settled.state != original.state && original.state.transition(settled.state).is_err() {
            tracing::error!(
                original = %original.id,
                follow_up = %by.id,
                from = %original.state,
                to = %settled.state,
                "a follow-up's outcome cannot settle its original; an operator must check it"
            );
            return None;
        }
        let mut next = original.clone();
        next.state = settled.state;
        next.refunded_amount = settled.refunded_amount;
        next.version = original.version + 1;
        next.updated_at = self.now();
        let refunded = next
            .refunded_amount
            .map_or_else(String::new, |a| format!(", {a} refunded"));
        let detail = format!(
            "{} -> {}{refunded}, by {} {}",
            original.state,
            next.state,
            by.kind.as_str(),
            by.id
        );
        Some(TransactionWrite {
            events: vec![self.state_event(&next)],
            journal: vec![self.entry(next.id, "settled", detail)],
            record: next,
        })
    }

    /// The `transactionUpdatedEvent` of a record as it is about to be saved.
    fn state_event(&self, record: &TransactionRecord) -> NewEvent {
        NewEvent {
            merchant_id: Some(record.merchant_id.clone()),
            at: record.updated_at,
            kind: EventKind::TransactionUpdated {
                transaction_id: record.id,
                poi_id: record.poi_id,
                transaction_kind: record.kind,
                state: record.state,
            },
        }
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

/// Telemetry of a state change, only once it is committed: a lifecycle line at `info` with the
/// transaction's ID, `eps_transactions_total{kind,state}` when it reaches a final state, and
/// `eps_transactions_unknown_total{kind}` when its outcome becomes unknown.
fn committed_state(from: TransactionState, record: &TransactionRecord) {
    let kind = record.kind.as_str();
    tracing::info!(
        transaction = %record.id,
        kind,
        terminal = %record.terminal_id,
        from = %from,
        to = %record.state,
        "transaction state"
    );
    if from == record.state {
        return;
    }
    if record.state == TransactionState::Unknown {
        metrics::counter!("eps_transactions_unknown_total", "kind" => kind).increment(1);
    } else if !record.state.is_unresolved() {
        metrics::counter!("eps_transactions_total", "kind" => kind, "state" => record.state.as_str())
            .increment(1);
    }
}
