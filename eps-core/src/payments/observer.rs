//! The domain side of a running terminal request: durable steps, receipts, prompts, card events.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::durable::{self, DurableStep};
use crate::event::{EventKind, NewEvent};
use crate::ids::{MerchantId, PoiId, PromptId, ReceiptId, ReconciliationId, TransactionId};
use crate::opi_trace::{TracedFrame, WireFrame};
use crate::prompt::{PromptAnswer, PromptKind, PromptRecord, PromptState};
use crate::receipt::ReceiptRecord;
use crate::redact::MaskedText;
use crate::terminal::{DeviceOutput, InputRequest, OperationObserver};
use crate::transaction::{TransactionRecord, TransactionState};

use super::shared::Shared;

/// How long an answer saved just as its prompt timed out may take to be handed over (it is
/// handed over right after the save; this bounds a hang, it is not a pause).
const LATE_ANSWER_BOUND: std::time::Duration = std::time::Duration::from_secs(5);

/// What the terminal's callbacks belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    /// A card transaction.
    Transaction(TransactionId),
    /// A reconciliation.
    Reconciliation(ReconciliationId),
}

/// Whether the request was put on the wire, for the caller waiting to answer 202 or 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dispatch {
    /// The whole request was written.
    Sent,
    /// Nothing was sent (or the operation ended before it was).
    NotSent,
}

/// A card operation's record and the signal its caller waits on.
pub(crate) struct Tracking {
    pub(crate) record: Arc<tokio::sync::Mutex<TransactionRecord>>,
    dispatched: Mutex<Option<oneshot::Sender<Dispatch>>>,
}

impl Tracking {
    /// Tracks `record`, signalling `dispatched` once it is known whether it was sent.
    pub(crate) fn new(record: TransactionRecord, dispatched: oneshot::Sender<Dispatch>) -> Self {
        Self {
            record: Arc::new(tokio::sync::Mutex::new(record)),
            dispatched: Mutex::new(Some(dispatched)),
        }
    }

    /// Signals the caller once; later calls do nothing.
    pub(crate) fn signal(&self, dispatch: Dispatch) {
        if let Some(sender) = self
            .dispatched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = sender.send(dispatch); // the caller may have given up waiting
        }
    }
}

/// Implements [`OperationObserver`] for one request.
pub(crate) struct Observer {
    shared: Arc<Shared>,
    merchant_id: MerchantId,
    poi_id: PoiId,
    subject: Subject,
    tracking: Option<Arc<Tracking>>,
    /// The next frame's place in the trace.
    frames: AtomicU32,
    /// The last of the writes that need not hold up the terminal's conversation (`inProgress`,
    /// displays), each chained after the one before. Every other write of the operation, and
    /// its outcome, waits for them first, so everything lands (and its events are heard) in the
    /// order the terminal sent it.
    background: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// How many background writes have not ended.
    unfinished: Arc<tokio::sync::watch::Sender<usize>>,
}

impl Observer {
    /// An observer for the card operation tracked by `tracking`.
    pub(crate) fn for_operation(
        shared: Arc<Shared>,
        record: &TransactionRecord,
        tracking: Arc<Tracking>,
    ) -> Self {
        Self {
            shared,
            merchant_id: record.merchant_id.clone(),
            poi_id: record.poi_id,
            subject: Subject::Transaction(record.id),
            tracking: Some(tracking),
            frames: AtomicU32::new(0),
            background: Mutex::new(None),
            unfinished: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// An observer that only stores callbacks (receipt reprints, reconciliations).
    pub(crate) fn for_callbacks(
        shared: Arc<Shared>,
        merchant_id: MerchantId,
        poi_id: PoiId,
        subject: Subject,
    ) -> Self {
        Self {
            shared,
            merchant_id,
            poi_id,
            subject,
            tracking: None,
            frames: AtomicU32::new(0),
            background: Mutex::new(None),
            unfinished: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// Waits until every write started in the background has ended.
    pub(crate) async fn settled(&self) {
        let mut unfinished = self.unfinished.subscribe();
        // The sender lives in `self`, so the wait cannot fail.
        let _ = unfinished.wait_for(|count| *count == 0).await;
    }

    /// Starts `write` once the background writes before it have ended.
    fn in_background(&self, write: impl std::future::Future<Output = ()> + Send + 'static) {
        self.unfinished.send_modify(|count| *count += 1);
        let done = Unfinished(self.unfinished.clone());
        let mut background = self.background.lock().unwrap_or_else(|p| p.into_inner());
        let before = background.take();
        *background = Some(tokio::spawn(async move {
            let _done = done;
            if let Some(before) = before {
                let _ = before.await;
            }
            write.await;
        }));
    }

    fn subject_id(&self) -> String {
        match self.subject {
            Subject::Transaction(id) => id.to_string(),
            Subject::Reconciliation(id) => id.to_string(),
        }
    }

    fn transaction_id(&self) -> Option<TransactionId> {
        match self.subject {
            Subject::Transaction(id) => Some(id),
            Subject::Reconciliation(_) => None,
        }
    }

    async fn store_receipt(
        &self,
        copy: crate::receipt::ReceiptCopy,
        target: String,
        lines: Vec<String>,
    ) {
        self.settled().await;
        let now = self.shared.now();
        let receipt = ReceiptRecord {
            id: ReceiptId::generate(),
            merchant_id: self.merchant_id.clone(),
            poi_id: self.poi_id,
            transaction_id: self.transaction_id(),
            reconciliation_id: match self.subject {
                Subject::Reconciliation(id) => Some(id),
                Subject::Transaction(_) => None,
            },
            copy,
            device_target: target,
            lines: lines.iter().map(MaskedText::new).collect(),
            created_at: now,
        };
        let event = NewEvent {
            merchant_id: Some(self.merchant_id.clone()),
            at: now,
            kind: EventKind::ReceiptAvailable {
                receipt_id: receipt.id,
                poi_id: self.poi_id,
                transaction_id: receipt.transaction_id,
                reconciliation_id: receipt.reconciliation_id,
                copy,
            },
        };
        let detail = format!(
            "{} copy, {} lines, receipt {}",
            copy.as_str(),
            receipt.lines.len(),
            receipt.id
        );
        let step = self.shared.entry(self.subject_id(), "receipt", detail);
        match self
            .shared
            .store
            .insert_receipt(&receipt, &[event], &[step])
            .await
        {
            Ok(_) => self.shared.events.committed(),
            Err(err) => {
                tracing::error!(%err, subject = %self.subject_id(), "receipt could not be stored")
            }
        }
    }

    async fn store_prompt(&self, prompt: &PromptRecord) -> bool {
        store_prompt(&self.shared, prompt, &self.subject_id()).await
    }

    fn new_prompt(&self, kind: PromptKind, target: String, lines: Vec<String>) -> PromptRecord {
        let now = self.shared.now();
        PromptRecord {
            id: PromptId::generate(),
            merchant_id: self.merchant_id.clone(),
            poi_id: self.poi_id,
            transaction_id: self.transaction_id(),
            kind,
            device_target: target,
            lines: lines.iter().map(MaskedText::new).collect(),
            input: None,
            state: if kind == PromptKind::Display {
                PromptState::Displayed
            } else {
                PromptState::Open
            },
            answer: None,
            answered_by: None,
            created_at: now,
            expires_at: None,
            updated_at: now,
        }
    }
}

#[async_trait]
impl OperationObserver for Observer {
    fn frame(&self, frame: WireFrame) {
        // Reconciliations keep their journal and receipts; only transactions keep a trace.
        if let Some(id) = self.transaction_id() {
            let seq = self.frames.fetch_add(1, Ordering::Relaxed);
            let traced = TracedFrame::new(id, self.shared.now(), seq, frame);
            self.shared.trace.record(traced);
        }
    }

    async fn before_send(&self) -> Result<(), String> {
        self.shared
            .journal(self.subject_id(), "sending", "request about to be written")
            .await
            .map_err(|err| err.to_string())
    }

    async fn sent(&self) {
        let step = self
            .shared
            .entry(self.subject_id(), "sent", "request written");
        let Some(tracking) = &self.tracking else {
            match self.shared.store.append_journal(&step).await {
                Err(err) => {
                    tracing::error!(%err, subject = %self.subject_id(), "journal write failed");
                }
                Ok(()) => {
                    if let Subject::Reconciliation(id) = self.subject {
                        durable::reached(DurableStep::ReconciliationSent, id).await;
                    }
                }
            }
            return;
        };
        // The record is locked here, in order, so the outcome (saved under the same lock) waits
        // for this save; the conversation with the terminal goes on meanwhile: `inProgress` is
        // for whoever asks, and the "sending" step already told recovery the request may be out.
        let mut record = Arc::clone(&tracking.record).lock_owned().await;
        let (shared, tracking) = (self.shared.clone(), tracking.clone());
        self.in_background(async move {
            if record.state == TransactionState::Pending {
                let saved = shared
                    .save_with(
                        &mut record,
                        TransactionState::InProgress,
                        |_| {},
                        vec![step],
                    )
                    .await;
                match saved {
                    Err(err) => {
                        tracing::error!(%err, transaction = %record.id, "inProgress could not be saved")
                    }
                    Ok(()) => durable::reached(DurableStep::RequestSent, record.id).await,
                }
            } else if let Err(err) = shared.store.append_journal(&step).await {
                tracing::error!(%err, transaction = %record.id, "journal write failed");
            }
            drop(record);
            tracking.signal(Dispatch::Sent);
        });
    }

    async fn output(&self, output: DeviceOutput) {
        match output {
            DeviceOutput::Receipt {
                copy,
                target,
                lines,
            } => self.store_receipt(copy, target, lines).await,
            DeviceOutput::Display { target, lines } => {
                // A display is ephemeral: nobody waits on its commit (the terminal is answered
                // at once), and it still lands before the outcome.
                let prompt = self.new_prompt(PromptKind::Display, target, lines);
                let (shared, subject) = (self.shared.clone(), self.subject_id());
                self.in_background(async move {
                    store_prompt(&shared, &prompt, &subject).await;
                });
            }
        }
    }

    async fn input(&self, request: InputRequest) -> Option<PromptAnswer> {
        self.settled().await;
        let mut prompt = self.new_prompt(PromptKind::Input, request.target, request.lines);
        let wait = request
            .timeout
            .min(self.shared.policy.input_timeout_cap)
            .max(time::Duration::ZERO);
        prompt.expires_at = Some(prompt.created_at + wait);
        prompt.input = Some(request.spec);
        let mut answer = self.shared.prompts.wait_for(prompt.id);
        if !self.store_prompt(&prompt).await {
            self.shared.prompts.forget(&prompt.id);
            return None;
        }
        // The terminal may withdraw the question (its operation ended first): the driver then
        // drops this future, and the guard stops the wait.
        let _guard = OpenPrompt {
            shared: self.shared.clone(),
            id: prompt.id,
        };
        let wait = std::time::Duration::try_from(wait).unwrap_or_default();
        if let Ok(Ok(answer)) = tokio::time::timeout(wait, &mut answer).await {
            return Some(answer);
        }
        let now = self.shared.now();
        match self
            .shared
            .store
            .close_prompt(&prompt.id, PromptState::TimedOut, None, None, now)
            .await
        {
            Ok(true) => {
                self.shared
                    .journal_best_effort(
                        self.subject_id(),
                        "prompt",
                        format!("prompt {} timed out", prompt.id),
                    )
                    .await;
                None
            }
            // Answered just as the wait ended: the answer is handed over right after it was
            // saved (the guard keeps the hand-over open), and a clear one is stored as well.
            Ok(false) => match tokio::time::timeout(LATE_ANSWER_BOUND, &mut answer).await {
                Ok(Ok(answer)) => Some(answer),
                _ => self
                    .shared
                    .store
                    .prompt(&prompt.id)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|p| p.answer),
            },
            Err(err) => {
                tracing::error!(%err, prompt = %prompt.id, "prompt timeout could not be saved");
                None
            }
        }
    }

    async fn card_acquired(&self) {
        self.settled().await;
        let event = NewEvent {
            merchant_id: Some(self.merchant_id.clone()),
            at: self.shared.now(),
            kind: EventKind::CardAcquisition {
                poi_id: self.poi_id,
                transaction_id: self.transaction_id(),
            },
        };
        if let Err(err) = self.shared.events.append(&[event]).await {
            tracing::error!(%err, "card acquisition event could not be stored");
        }
    }
}

/// Counts a background write as ended when dropped (even by a panic).
struct Unfinished(Arc<tokio::sync::watch::Sender<usize>>);

impl Drop for Unfinished {
    fn drop(&mut self) {
        self.0.send_modify(|count| *count = count.saturating_sub(1));
    }
}

/// Stores a prompt with its `promptAvailable` event; false (logged) when it could not be stored.
async fn store_prompt(shared: &Shared, prompt: &PromptRecord, subject: &str) -> bool {
    let event = NewEvent {
        merchant_id: Some(prompt.merchant_id.clone()),
        at: prompt.created_at,
        kind: EventKind::PromptAvailable {
            prompt_id: prompt.id,
            poi_id: prompt.poi_id,
            transaction_id: prompt.transaction_id,
            prompt_kind: prompt.kind,
        },
    };
    match shared.store.insert_prompt(prompt, &[event]).await {
        Ok(_) => {
            shared.events.committed();
            true
        }
        Err(err) => {
            tracing::error!(%err, subject, "prompt could not be stored");
            false
        }
    }
}

/// An input prompt a running operation waits on; dropped (the terminal withdrew the question,
/// so the driver dropped the wait) it stops the wait. The operation closes such prompts as
/// `cancelled` once the terminal's request has ended.
struct OpenPrompt {
    shared: Arc<Shared>,
    id: PromptId,
}

impl Drop for OpenPrompt {
    fn drop(&mut self) {
        self.shared.prompts.forget(&self.id);
    }
}
