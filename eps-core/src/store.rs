//! The durable store: traits the domain writes through, with SQLite and PostgreSQL implementations.
//!
//! One schema, migrations for both engines (`migrations/sqlite`, `migrations/postgres`), and one
//! test suite run against both. Times are stored as Unix milliseconds. Writes that change a
//! record and emit events do both in one database transaction (the outbox rule).
//!
//! # Layout
//! - this file: the traits, [`Created`], [`TransactionWrite`], and [`open`], which picks the
//!   engine by URL scheme.
//! - `sql` ([`SqlStore`]): every trait written once in SQL both engines accept.
//! - `engine`: the little each engine provides (run a statement, fetch rows, begin a write).
//! - `codec`: rows of plain columns to and from records.
//! - [`sqlite`] ([`SqliteStore`]) and [`postgres`] ([`PostgresStore`]): opening, pools, sessions.
//! - `suite` (tests): the suite, one `#[tokio::test]` per case and engine.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{AuditEntry, AuditQuery, NewAuditEntry};
use crate::client::ClientRecord;
use crate::connection::{Beat, ConnectionRecord};
use crate::country::CountrySettingsRecord;
use crate::error::Result;
use crate::event::{EventRecord, NewEvent};
use crate::idempotency::IdempotencyRecord;
use crate::ids::{
    ClientId, ConnectionId, EventId, IdempotencyKey, MerchantId, PoiId, PromptId, ReceiptId,
    ReconciliationId, TerminalId, TerminalRequestId, TransactionId, TransmissionId,
};
use crate::issuer::KeyFingerprint;
use crate::opi_trace::TracedFrame;
use crate::prompt::{PromptAnswer, PromptRecord, PromptState};
use crate::receipt::ReceiptRecord;
use crate::reconciliation::ReconciliationRecord;
use crate::transaction::search::TransactionSearch;
use crate::transaction::{JournalEntry, TransactionQuery, TransactionRecord};

mod codec;
mod engine;
mod listen;
pub mod postgres;
mod sql;
pub mod sqlite;
#[cfg(test)]
mod suite;

pub use postgres::PostgresStore;
pub use sql::SqlStore;
pub use sqlite::SqliteStore;

/// Site-system connections.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Stores a new connection.
    async fn insert_connection(&self, connection: &ConnectionRecord) -> Result<()>;
    /// A connection by id.
    async fn connection(&self, id: &ConnectionId) -> Result<Option<ConnectionRecord>>;
    /// The newest connection `client` opened with `transmission_id` at or after `created_from`.
    async fn connection_by_transmission(
        &self,
        client: &ClientId,
        transmission_id: TransmissionId,
        created_from: OffsetDateTime,
    ) -> Result<Option<ConnectionRecord>>;
    /// Records a heartbeat; false when the connection is gone.
    async fn refresh_connection(
        &self,
        id: &ConnectionId,
        last_heartbeat_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool>;
    /// Writes heartbeats kept in memory, in one transaction; an expiry only moves forward.
    /// Returns how many connections moved (closed ones are skipped).
    async fn refresh_connections(&self, beats: &[Beat]) -> Result<u64>;
    /// Gives every connection still live at `live_at` an expiry of at least `until` (the start-up
    /// grace); returns how many moved.
    async fn extend_live_connections(
        &self,
        live_at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<u64>;
    /// Deletes a connection; false when it was already gone.
    async fn delete_connection(&self, id: &ConnectionId) -> Result<bool>;
    /// Every stored connection, oldest first.
    async fn connections(&self) -> Result<Vec<ConnectionRecord>>;
    /// Deletes connections that expired before `expired_before`; returns how many.
    async fn purge_connections(&self, expired_before: OffsetDateTime) -> Result<u64>;
}

/// Country settings, one row per site.
#[async_trait]
pub trait CountrySettingsStore: Send + Sync {
    /// Stores a site's settings, replacing earlier ones.
    async fn put_country_settings(&self, record: &CountrySettingsRecord) -> Result<()>;
    /// A site's settings, if any were set.
    async fn country_settings(
        &self,
        merchant: &MerchantId,
    ) -> Result<Option<CountrySettingsRecord>>;
}

/// OAuth2 clients of the built-in issuer.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Stores a new client, or replaces the one with the same id.
    async fn upsert_client(&self, client: &ClientRecord) -> Result<()>;
    /// A client by id.
    async fn client(&self, id: &ClientId) -> Result<Option<ClientRecord>>;
    /// Every client, by id.
    async fn clients(&self) -> Result<Vec<ClientRecord>>;
    /// Deletes a client; false when there was none.
    async fn delete_client(&self, id: &ClientId) -> Result<bool>;
}

/// The built-in issuer's key every node must sign with (see [`crate::issuer`]).
#[async_trait]
pub trait IssuerKeyStore: Send + Sync {
    /// The recorded key, if any.
    async fn issuer_key(&self) -> Result<Option<KeyFingerprint>>;
    /// Records `key` unless a key is recorded already; returns the one already recorded, if any
    /// (`None`: `key` is now the recorded one).
    async fn adopt_issuer_key(
        &self,
        key: &KeyFingerprint,
        at: OffsetDateTime,
    ) -> Result<Option<KeyFingerprint>>;
    /// Records `key`, replacing any other (a deliberate rotation); returns the one it replaced.
    async fn replace_issuer_key(
        &self,
        key: &KeyFingerprint,
        at: OffsetDateTime,
    ) -> Result<Option<KeyFingerprint>>;
}

/// What another node (or this one) did, heard through the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// Events were committed.
    EventsCommitted,
    /// A connection was deleted (disconnected, force-disconnected or purged).
    ConnectionClosed(ConnectionId),
    /// The listener reconnected: signals sent meanwhile may be lost, so read what they would
    /// have announced.
    Resumed,
}

/// A stream of [`Signal`]s; dropping it stops listening.
#[async_trait]
pub trait Signals: Send {
    /// The next signal. Waits across database outages (reconnecting, then [`Signal::Resumed`]).
    async fn next(&mut self) -> Signal;
}

/// What happened to a create guarded by an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Stored; the events got these records.
    Inserted(Vec<EventRecord>),
    /// The key was already used; nothing was stored. The earlier record is returned.
    Duplicate(IdempotencyRecord),
}

/// A transaction record to write with the events and journal steps that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionWrite {
    /// The record as it is to be stored.
    pub record: TransactionRecord,
    /// Its events.
    pub events: Vec<NewEvent>,
    /// Its journal steps.
    pub journal: Vec<JournalEntry>,
}

/// Decides a new follow-up from its original and every existing follow-up of that original, as
/// read under the original's row lock; an error refuses it (nothing is written).
pub type FollowUpDecision<'a> =
    dyn Fn(&TransactionRecord, &[TransactionRecord]) -> Result<TransactionWrite> + Send + Sync + 'a;

/// Decides what a follow-up's new state changes on its original, from the original and all its
/// follow-ups (the updated one included) as read under the original's row lock: `None` when
/// nothing changes.
pub type Settlement<'a> = dyn Fn(&TransactionRecord, &[TransactionRecord]) -> Result<Option<TransactionWrite>>
    + Send
    + Sync
    + 'a;

/// Transactions and their journal.
#[async_trait]
pub trait TransactionStore: Send + Sync {
    /// Stores a new transaction, its idempotency key (if any), events and journal steps,
    /// atomically.
    ///
    /// If `(client, key)` already exists nothing is written and the existing key is returned.
    async fn create_transaction(
        &self,
        transaction: &TransactionRecord,
        idempotency: Option<&IdempotencyRecord>,
        events: &[NewEvent],
        journal: &[JournalEntry],
    ) -> Result<Created>;
    /// Stores a follow-up (completion, reversal, refund) of `original` as `decide` says, in one
    /// database transaction that claims the idempotency key (if any) first, then locks the
    /// original's row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's writer transaction is
    /// exclusive), reads every follow-up of it, and inserts the new one. Follow-ups of one
    /// original are thus judged one after the other, each against all the others.
    ///
    /// If `(client, key)` already exists nothing is written and the existing key is returned;
    /// an unknown original is [`crate::Error::UnknownTransaction`]; `decide`'s error is returned.
    async fn create_follow_up(
        &self,
        original: &TransactionId,
        idempotency: Option<&IdempotencyRecord>,
        decide: &FollowUpDecision<'_>,
    ) -> Result<Created>;
    /// Replaces a follow-up whose stored version is one less (as [`Self::update_transaction`]),
    /// and in the same database transaction, holding its original's row lock, applies what
    /// `settle` decides for the original. The follow-up's outcome and the original's new state
    /// are durable together or not at all.
    async fn update_follow_up(
        &self,
        follow_up: &TransactionWrite,
        settle: &Settlement<'_>,
    ) -> Result<Vec<EventRecord>>;
    /// The newest transaction of `terminal` that is `pending`, `inProgress` or `unknown`.
    async fn unresolved_on_terminal(
        &self,
        terminal: &TerminalId,
    ) -> Result<Option<TransactionRecord>>;
    /// A transaction by id.
    async fn transaction(&self, id: &TransactionId) -> Result<Option<TransactionRecord>>;
    /// Replaces a transaction whose stored version is `transaction.version - 1`, with its events
    /// and journal steps, in one database transaction.
    ///
    /// Fails with [`crate::Error::Conflict`] when the stored version differs.
    async fn update_transaction(
        &self,
        transaction: &TransactionRecord,
        events: &[NewEvent],
        journal: &[JournalEntry],
    ) -> Result<Vec<EventRecord>>;
    /// A page of a site's transactions, newest first.
    async fn transactions(&self, query: &TransactionQuery) -> Result<Vec<TransactionRecord>>;
    /// A page of every site's transactions as operators search them (see [`TransactionSearch`]).
    async fn search_transactions(
        &self,
        search: &TransactionSearch,
    ) -> Result<Vec<TransactionRecord>>;
    /// Every transaction in `pending`, `inProgress` or `unknown`, oldest first.
    async fn unresolved_transactions(&self) -> Result<Vec<TransactionRecord>>;
    /// The transactions that refer to `original` (completions, reversals, refunds), oldest first.
    async fn follow_ups(&self, original: &TransactionId) -> Result<Vec<TransactionRecord>>;
    /// The transaction `terminal` ran under the OPI RequestID `request_id`.
    async fn transaction_by_request(
        &self,
        terminal: &TerminalId,
        request_id: &TerminalRequestId,
    ) -> Result<Option<TransactionRecord>>;
    /// Appends a journal step.
    async fn append_journal(&self, entry: &JournalEntry) -> Result<()>;
    /// The journal of a transaction or reconciliation, oldest first.
    async fn journal(&self, subject_id: &str) -> Result<Vec<JournalEntry>>;
}

/// Receipts.
#[async_trait]
pub trait ReceiptStore: Send + Sync {
    /// Stores a receipt with its events and journal steps, atomically.
    async fn insert_receipt(
        &self,
        receipt: &ReceiptRecord,
        events: &[NewEvent],
        journal: &[JournalEntry],
    ) -> Result<Vec<EventRecord>>;
    /// A receipt by id.
    async fn receipt(&self, id: &ReceiptId) -> Result<Option<ReceiptRecord>>;
    /// The receipts of a transaction, oldest first.
    async fn transaction_receipts(&self, id: &TransactionId) -> Result<Vec<ReceiptRecord>>;
    /// The receipts of a reconciliation, oldest first.
    async fn reconciliation_receipts(&self, id: &ReconciliationId) -> Result<Vec<ReceiptRecord>>;
}

/// Prompts.
#[async_trait]
pub trait PromptStore: Send + Sync {
    /// Stores a prompt with its events, atomically.
    async fn insert_prompt(
        &self,
        prompt: &PromptRecord,
        events: &[NewEvent],
    ) -> Result<Vec<EventRecord>>;
    /// A prompt by id.
    async fn prompt(&self, id: &PromptId) -> Result<Option<PromptRecord>>;
    /// Moves an `open` prompt to `state` with `answer`; false when it was no longer open.
    async fn close_prompt(
        &self,
        id: &PromptId,
        state: PromptState,
        answer: Option<&PromptAnswer>,
        answered_by: Option<&ClientId>,
        at: OffsetDateTime,
    ) -> Result<bool>;
    /// The open prompts of a POI, oldest first.
    async fn open_prompts(&self, poi: &PoiId) -> Result<Vec<PromptRecord>>;
}

/// Reconciliations.
#[async_trait]
pub trait ReconciliationStore: Send + Sync {
    /// Stores a new reconciliation, its idempotency key (if any) and events, atomically.
    async fn create_reconciliation(
        &self,
        reconciliation: &ReconciliationRecord,
        idempotency: Option<&IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<Created>;
    /// A reconciliation by id.
    async fn reconciliation(&self, id: &ReconciliationId) -> Result<Option<ReconciliationRecord>>;
    /// Replaces a reconciliation whose stored version is `version - 1`, with its events.
    async fn update_reconciliation(
        &self,
        reconciliation: &ReconciliationRecord,
        events: &[NewEvent],
    ) -> Result<Vec<EventRecord>>;
    /// Every reconciliation in `pending` or `inProgress`, oldest first.
    async fn unresolved_reconciliations(&self) -> Result<Vec<ReconciliationRecord>>;
}

/// Idempotency keys for requests that do not create a transaction or reconciliation.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// A key by client and value.
    async fn idempotency(
        &self,
        client: &ClientId,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotencyRecord>>;
    /// Stores a key; returns the existing record instead when it is already there.
    async fn insert_idempotency(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>>;
    /// Records the outcome of the request a key guards.
    async fn complete_idempotency(
        &self,
        client: &ClientId,
        key: &IdempotencyKey,
        outcome: &str,
    ) -> Result<()>;
    /// Forgets keys that expired before `before`; returns how many.
    async fn purge_idempotency(&self, before: OffsetDateTime) -> Result<u64>;
}

/// The durable event log.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends events on their own; ids are assigned in commit order.
    async fn append_events(&self, events: &[NewEvent]) -> Result<Vec<EventRecord>>;
    /// Events after `after`, oldest first, at most `limit`; only those of `merchant` when given
    /// (site-less operator events are then left out).
    async fn events_after(
        &self,
        merchant: Option<&MerchantId>,
        after: EventId,
        limit: u32,
    ) -> Result<Vec<EventRecord>>;
    /// The newest event id, or zero.
    async fn latest_event_id(&self) -> Result<EventId>;
    /// The highest id removed by retention, or zero: a reader behind it has missed events.
    async fn purged_through(&self) -> Result<EventId>;
    /// Deletes the oldest events, up to (not including) the first one at or after `before`, and
    /// raises [`EventStore::purged_through`] to the last id deleted; returns how many.
    ///
    /// The log thus stays a contiguous run of ids; an event stamped out of order holds back the
    /// purge of the ones after it until it is old enough itself.
    async fn purge_events(&self, before: OffsetDateTime) -> Result<u64>;
    /// Records `pois` (site, POI) as the configured set, atomically: each POI not known yet is
    /// stored with a `newPOIEvent` for its site, and known POIs no longer configured are
    /// forgotten (so one added back is announced again). The very first call records the set
    /// without events. Returns the events written.
    async fn sync_known_pois(
        &self,
        pois: &[(MerchantId, PoiId)],
        at: OffsetDateTime,
    ) -> Result<Vec<EventRecord>>;
}

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an entry; returns it with its position.
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry>;
    /// A page of entries, newest first.
    async fn audit_entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;
}

/// The OPI trace of transactions (see [`crate::opi_trace`]).
#[async_trait]
pub trait TraceStore: Send + Sync {
    /// Appends `frames`, in order, with one insert.
    async fn insert_trace(&self, frames: &[TracedFrame]) -> Result<()>;
    /// A transaction's trace, in the order it was written.
    async fn trace(&self, id: &TransactionId) -> Result<Vec<TracedFrame>>;
}

/// Every store a node needs.
#[async_trait]
pub trait Store:
    ConnectionStore
    + CountrySettingsStore
    + ClientStore
    + TransactionStore
    + ReceiptStore
    + PromptStore
    + ReconciliationStore
    + IdempotencyStore
    + EventStore
    + AuditStore
    + TraceStore
    + IssuerKeyStore
    + Send
    + Sync
    + 'static
{
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    /// Checks the database answers (for readiness).
    async fn ping(&self) -> Result<()>;
    /// Starts listening for the writes of every node sharing the database (PostgreSQL's
    /// LISTEN/NOTIFY); `None` where the engine serves one node only (SQLite), whose writes this
    /// process sees without help.
    async fn listen(&self) -> Result<Option<Box<dyn Signals>>>;
}

/// Opens the store a URL names and brings its schema up to date.
///
/// `sqlite://path/to/eps.db` (created with its directory if missing, WAL mode) or
/// `postgres://…` (`postgresql://` too).
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    match scheme {
        "sqlite" => Ok(Arc::new(SqliteStore::open(url).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(PostgresStore::open(url).await?)),
        _ => Err(crate::Error::Storage(format!(
            "unsupported store URL scheme {scheme:?}: use sqlite://path or postgres://host/db"
        ))),
    }
}
