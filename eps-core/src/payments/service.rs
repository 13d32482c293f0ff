//! The payment service: starts card transactions on the right terminal, durably, exactly once.

use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::Instrument;

use crate::clock::SharedClock;
use crate::durable::{self, DurableStep};
use crate::error::{Error, Result};
use crate::event::{EventKind, EventLog, NewEvent};
use crate::idempotency::Idempotency;
use crate::ids::{ClientId, MerchantId, PoiId, PromptId, ReceiptId, TerminalId, TransactionId};
use crate::opi_trace::{TraceSink, TracedFrame};
use crate::prompt::{PromptAnswer, PromptKind, PromptRecord, PromptState};
use crate::receipt::ReceiptRecord;
use crate::site::{Poi, SiteDirectory};
use crate::store::Store;
use crate::terminal::{SharedTerminal, TerminalStatus};
use crate::transaction::search::TransactionSearch;
use crate::transaction::{
    JournalEntry, TransactionKind, TransactionQuery, TransactionRecord, TransactionState,
};

use super::admit::{Admission, Admitted, admit};
use super::dispatch::dispatch_bound;
use super::observer::{Dispatch, Tracking};
use super::operation;
use super::prompts::{PromptWaiters, check_answer};
use super::recovery::{self, Patience};
use super::request::{TransactionRequest, card_operation};
use super::retries::Retries;
use super::shared::{PaymentPolicy, Shared};
use super::watch::TransactionWatch;
use super::workers::{Occupant, TerminalWorkers};

/// How often idempotency keys past their expiry are deleted.
const IDEMPOTENCY_PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// A started (or replayed) transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The transaction as it stands once it was sent, refused unsent, or found by its key.
    pub transaction: TransactionRecord,
    /// True when an earlier request with the same idempotency key created it.
    pub replayed: bool,
}

/// Card transactions, receipts and prompts of the sites this node serves.
#[derive(Clone)]
pub struct PaymentService {
    pub(crate) shared: Arc<Shared>,
}

impl PaymentService {
    /// A service driving `terminals` for the configured `sites`, tracing their OPI frames to
    /// `trace`.
    pub fn new(
        store: Arc<dyn Store>,
        sites: Arc<SiteDirectory>,
        clock: SharedClock,
        events: EventLog,
        terminals: Vec<SharedTerminal>,
        policy: PaymentPolicy,
        trace: Arc<dyn TraceSink>,
    ) -> Self {
        let idempotency = Idempotency::new(store.clone(), clock.clone(), policy.idempotency_ttl);
        let shared = Shared {
            store,
            sites,
            clock,
            events,
            workers: TerminalWorkers::new(terminals),
            watch: TransactionWatch::default(),
            prompts: PromptWaiters::default(),
            idempotency,
            policy,
            trace,
            request_counter: std::sync::atomic::AtomicU32::new(
                (uuid::Uuid::new_v4().as_u128() % 10_000) as u32,
            ),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Starts a transaction and returns once it is on the wire, definitely not sent, or still
    /// `pending` after the dispatch bound ([`PaymentService::dispatch_bound`]: the terminal's
    /// connect timeout and a margin, however long a Login before it takes).
    ///
    /// The record is durable before any byte reaches the terminal. A retry with the same
    /// idempotency key (header or `posTransactionID`) returns the first request's transaction
    /// without a second terminal request.
    pub async fn start(&self, request: TransactionRequest) -> Result<Started> {
        let shared = &self.shared;
        let client = &request.caller.client_id;
        let _key_guard = shared
            .idempotency
            .lock_request(client, request.idempotency.as_ref())
            .await;
        if let Some(idem) = &request.idempotency
            && let Some(created) = shared.idempotency.created_before(client, idem).await?
        {
            return self
                .replay(&request.caller.merchant_id, created, idem)
                .await;
        }
        let original = match request.original_id {
            Some(id) => Some(self.transaction(&request.caller.merchant_id, &id).await?),
            None => None,
        };
        let poi = self.target_poi(&request, original.as_ref())?.clone();
        let admission = match admit(shared, &request, &poi, original.as_ref()).await? {
            Admitted::New(admission) => admission,
            Admitted::Duplicate(existing) => {
                let idem = request
                    .idempotency
                    .as_ref()
                    .ok_or_else(|| Error::Internal("duplicate without a key".into()))?;
                let created = Idempotency::resource_of(&existing, idem)?;
                return self
                    .replay(&request.caller.merchant_id, created, idem)
                    .await;
            }
        };
        let Admission {
            record,
            original,
            claim,
        } = *admission;
        let id = record.id;
        shared.watch.publish(&record);
        let (dispatched, on_dispatch) = oneshot::channel();
        // The original's reference (its STAN, approval code) identifies it only to the terminal
        // that ran it: a refund on another POI goes without it.
        let reference = original
            .as_ref()
            .filter(|original| original.terminal_id == record.terminal_id);
        tracing::info!(
            transaction = %id,
            kind = request.kind.as_str(),
            poi = %poi.poi_id,
            amount = %record.amount,
            "transaction accepted"
        );
        let operation = card_operation(request.kind, record.amount, reference);
        let tracking = Arc::new(Tracking::new(record, dispatched));
        let bound = dispatch_bound(claim.terminal().as_ref());
        // The operation outlives the request; its lines keep the request's span (request ID).
        tokio::spawn(
            operation::run(shared.clone(), claim, tracking, operation)
                .instrument(tracing::Span::current()),
        );
        // Past the bound the answer is `pending` and the operation goes on (a terminal that
        // takes long over its Login must not make the site system's HTTP call time out and
        // retry blindly).
        let _: Option<Dispatch> = tokio::time::timeout(bound, on_dispatch)
            .await
            .map(|dispatch| dispatch.unwrap_or(Dispatch::NotSent))
            .ok();
        Ok(Started {
            transaction: self.latest(&id).await?,
            replayed: false,
        })
    }

    /// The POI a request runs on: the original's for follow-ups, else the one it names.
    fn target_poi(
        &self,
        request: &TransactionRequest,
        original: Option<&TransactionRecord>,
    ) -> Result<&Poi> {
        let sites = &self.shared.sites;
        let poi_id = match (original, request.poi_id) {
            (Some(original), Some(asked))
                if request.kind != TransactionKind::Refund && asked != original.poi_id =>
            {
                return Err(Error::InvalidState(format!(
                    "poiID: transaction {} ran on POI {}; its follow-ups must use that POI",
                    original.id, original.poi_id
                )));
            }
            (_, Some(asked)) => asked,
            (Some(original), None) => original.poi_id,
            (None, None) => return Err(Error::UnknownPoi),
        };
        sites
            .poi(&poi_id)
            .filter(|poi| poi.merchant_id == request.caller.merchant_id)
            .ok_or(Error::UnknownPoi)
    }

    /// A transaction of `merchant`'s site.
    pub async fn transaction(
        &self,
        merchant: &MerchantId,
        id: &TransactionId,
    ) -> Result<TransactionRecord> {
        self.shared
            .store
            .transaction(id)
            .await?
            .filter(|t| &t.merchant_id == merchant)
            .ok_or(Error::UnknownTransaction)
    }

    /// A page of a site's transactions.
    pub async fn transactions(&self, query: &TransactionQuery) -> Result<Vec<TransactionRecord>> {
        self.shared.store.transactions(query).await
    }

    /// A page of every site's transactions, as operators search them.
    pub async fn search(&self, search: &TransactionSearch) -> Result<Vec<TransactionRecord>> {
        self.shared.store.search_transactions(search).await
    }

    /// Waits up to `timeout` for the transaction's running operation (recovery included) to end,
    /// and returns it as it then stands.
    pub async fn wait_final(
        &self,
        merchant: &MerchantId,
        id: &TransactionId,
        timeout: std::time::Duration,
    ) -> Result<TransactionRecord> {
        self.transaction(merchant, id).await?;
        // Wait for the operation to end (its watch closes), recovery included, not merely for a
        // final state: the terminal is free again by then.
        self.wait_until(id, timeout, |_| false).await
    }

    pub(super) async fn wait_until(
        &self,
        id: &TransactionId,
        timeout: std::time::Duration,
        done: impl Fn(&TransactionRecord) -> bool,
    ) -> Result<TransactionRecord> {
        let Some(mut receiver) = self.shared.watch.subscribe(id) else {
            return self.shared.load(id).await;
        };
        let wait = async {
            loop {
                if done(&receiver.borrow_and_update()) {
                    return;
                }
                if receiver.changed().await.is_err() {
                    return; // the operation ended
                }
            }
        };
        let _ = tokio::time::timeout(timeout, wait).await;
        self.shared.load(id).await
    }

    async fn latest(&self, id: &TransactionId) -> Result<TransactionRecord> {
        match self.shared.watch.subscribe(id) {
            Some(receiver) => Ok(receiver.borrow().clone()),
            None => self.shared.load(id).await,
        }
    }

    /// Asks the terminal to abort a running transaction; its outcome arrives as usual.
    pub async fn abort(
        &self,
        merchant: &MerchantId,
        id: &TransactionId,
    ) -> Result<TransactionRecord> {
        let record = self.transaction(merchant, id).await?;
        let running = matches!(
            record.state,
            TransactionState::Pending | TransactionState::InProgress
        ) && self.shared.workers.occupant(&record.terminal_id)
            == Some(Occupant::Transaction(*id));
        if !running {
            return Err(Error::InvalidState(format!(
                "transaction {id} is {}; only a running transaction can be aborted",
                record.state
            )));
        }
        let terminal = self.shared.terminal_of(&record.terminal_id)?;
        self.shared
            .journal_best_effort(id, "abortRequested", "AbortRequest sent to the terminal")
            .await;
        terminal
            .abort()
            .await
            .map_err(|err| Error::PoiUnavailable {
                terminal: record.terminal_id.clone(),
                reason: err.to_string(),
            })?;
        self.latest(id).await
    }

    /// A receipt of `merchant`'s site.
    pub async fn receipt(&self, merchant: &MerchantId, id: &ReceiptId) -> Result<ReceiptRecord> {
        self.shared
            .store
            .receipt(id)
            .await?
            .filter(|r| &r.merchant_id == merchant)
            .ok_or(Error::NotFound("receipt"))
    }

    /// The receipts of a transaction of `merchant`'s site.
    pub async fn transaction_receipts(
        &self,
        merchant: &MerchantId,
        id: &TransactionId,
    ) -> Result<Vec<ReceiptRecord>> {
        self.transaction(merchant, id).await?;
        self.shared.store.transaction_receipts(id).await
    }

    /// The journal of a transaction (operators).
    pub async fn journal(&self, id: &TransactionId) -> Result<Vec<JournalEntry>> {
        self.shared.store.journal(&id.to_string()).await
    }

    /// The OPI trace of a transaction, in the order its frames went (operators).
    pub async fn trace(&self, id: &TransactionId) -> Result<Vec<TracedFrame>> {
        self.shared.store.trace(id).await
    }

    /// A prompt of `merchant`'s site.
    pub async fn prompt(&self, merchant: &MerchantId, id: &PromptId) -> Result<PromptRecord> {
        self.shared
            .store
            .prompt(id)
            .await?
            .filter(|p| &p.merchant_id == merchant)
            .ok_or(Error::NotFound("prompt"))
    }

    /// Answers an open input prompt; the terminal gets the answer at once.
    ///
    /// Storing the answer and handing it to the waiting operation run in a task of their own: a
    /// caller that goes away (an HTTP client that disconnects) cannot leave the answer stored
    /// but never delivered.
    pub async fn answer_prompt(
        &self,
        merchant: &MerchantId,
        client: &ClientId,
        id: &PromptId,
        answer: PromptAnswer,
    ) -> Result<PromptRecord> {
        let prompt = self.prompt(merchant, id).await?;
        if prompt.kind != PromptKind::Input {
            return Err(Error::InvalidState(format!(
                "prompt {id} only displays text; it takes no answer"
            )));
        }
        if prompt.state != PromptState::Open {
            return Err(Error::InvalidState(format!(
                "prompt {id} is {}; it no longer takes an answer",
                prompt.state.as_str()
            )));
        }
        if let Some(spec) = &prompt.input {
            check_answer(spec, &answer)?;
        }
        let task = tokio::spawn(
            deliver_answer(self.shared.clone(), prompt, client.clone(), answer)
                .instrument(tracing::Span::current()),
        );
        task.await
            .map_err(|err| Error::Internal(format!("the prompt answer task failed: {err}")))??;
        self.prompt(merchant, id).await
    }

    /// The POI's terminal status as last observed.
    pub fn poi_status(&self, poi: &PoiId) -> Option<TerminalStatus> {
        let poi = self.shared.sites.poi(poi)?;
        let terminal = self.shared.workers.terminal(&poi.terminal_id)?;
        Some(*terminal.status().borrow())
    }

    /// Recovers every unresolved transaction and reconciliation of this node's terminals after a
    /// start: the terminals in parallel, the transactions of one terminal one after the other;
    /// returns how many transactions were found. New operations on a terminal wait (busy) until
    /// its recovery ends.
    pub async fn recover_unresolved(&self) -> Result<usize> {
        self.recover_reconciliations().await?;
        let unresolved = self.shared.store.unresolved_transactions().await?;
        let count = unresolved.len();
        let mut by_terminal: std::collections::BTreeMap<_, Vec<_>> = Default::default();
        for record in unresolved {
            by_terminal
                .entry(record.terminal_id.clone())
                .or_default()
                .push(record);
        }
        for (terminal_id, records) in by_terminal {
            let Some(first) = records.first() else {
                continue;
            };
            let Ok(claim) = self
                .shared
                .workers
                .try_claim(&terminal_id, Occupant::Transaction(first.id))
            else {
                continue;
            };
            let shared = self.shared.clone();
            tokio::spawn(async move {
                for mut record in records {
                    shared
                        .journal_best_effort(record.id, "recovery", "found unresolved at start")
                        .await;
                    if let Err(err) =
                        recovery::recover(&shared, claim.terminal(), &mut record, Patience::Patient)
                            .await
                    {
                        tracing::error!(%err, transaction = %record.id, "recovery failed");
                    }
                    shared.watch.forget(&record.id);
                }
                drop(claim);
            });
        }
        Ok(count)
    }

    /// Retries recovery of unresolved transactions at growing intervals (terminals in
    /// parallel), and publishes POI status changes as events, until `stop` resolves.
    pub async fn run_background(&self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let (changes, mut changed) = tokio::sync::mpsc::channel(64);
        let mut watchers = tokio::task::JoinSet::new();
        for terminal in self.shared.workers.terminals() {
            let mut status = terminal.status();
            let id = terminal.id().clone();
            let changes = changes.clone();
            watchers.spawn(async move {
                while status.changed().await.is_ok() {
                    let now = *status.borrow_and_update();
                    if changes.send((id.clone(), now)).await.is_err() {
                        break;
                    }
                }
            });
        }
        let mut retries = Retries::new(&self.shared.policy);
        let mut tick = tokio::time::interval(self.shared.policy.recovery_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first purge runs at once: keys that expired while the EPS was down go first.
        let mut purge = tokio::time::interval(IDEMPOTENCY_PURGE_INTERVAL);
        purge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut stop => break,
                now = tick.tick() => {
                    retries.start_due(&self.shared, now).await;
                }
                finished = retries.next_finished() => retries.record(finished, Instant::now()),
                _ = purge.tick() => self.purge_idempotency().await,
                Some((terminal, status)) = changed.recv() => self.publish_status(&terminal, status).await,
            }
        }
        retries.abort_all();
        watchers.abort_all();
    }

    /// Forgets idempotency keys past their expiry (kept `idempotency_ttl` after first use).
    async fn purge_idempotency(&self) {
        match self.shared.idempotency.purge_expired().await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "forgot expired idempotency keys"),
            Err(err) => tracing::warn!(%err, "expired idempotency keys could not be purged"),
        }
    }

    async fn publish_status(&self, terminal: &TerminalId, status: TerminalStatus) {
        let Some(poi) = self.shared.sites.poi_of_terminal(terminal) else {
            return;
        };
        let event = NewEvent {
            merchant_id: Some(poi.merchant_id.clone()),
            at: self.shared.now(),
            kind: EventKind::PoiStatus {
                poi_id: poi.poi_id,
                status,
            },
        };
        if let Err(err) = self.shared.events.append(&[event]).await {
            tracing::error!(%err, "POI status event could not be stored");
        }
    }
}

/// Stores the answer to an open input prompt and hands it to the operation waiting for it.
async fn deliver_answer(
    shared: Arc<Shared>,
    prompt: PromptRecord,
    client: ClientId,
    answer: PromptAnswer,
) -> Result<()> {
    let id = prompt.id;
    // A secret answer (a PIN, a hidden entry) goes to the terminal only: the row keeps that it
    // was answered, and by whom.
    let recorded = match &prompt.input {
        Some(spec) => spec.recordable(&answer),
        None => Some(&answer),
    };
    let now = shared.now();
    if !shared
        .store
        .close_prompt(&id, PromptState::Answered, recorded, Some(&client), now)
        .await?
    {
        return Err(Error::InvalidState(format!(
            "prompt {id} no longer takes an answer"
        )));
    }
    durable::reached(DurableStep::PromptAnswered, id).await;
    if let Some(subject) = prompt.transaction_id {
        shared
            .journal_best_effort(subject, "prompt", format!("prompt {id} answered"))
            .await;
    }
    if !shared.prompts.deliver(&id, answer) {
        tracing::warn!(prompt = %id, "answered prompt has no waiting operation on this node");
    }
    Ok(())
}
