//! Transactions and the journal.

use async_trait::async_trait;

use super::{SqlStore, events, idempotency};
use crate::error::{Error, Result};
use crate::event::{EventRecord, NewEvent};
use crate::idempotency::IdempotencyRecord;
use crate::ids::{TerminalId, TerminalRequestId, TransactionId};
use crate::store::codec::{JournalRow, TransactionRow, millis};
use crate::store::engine::{Engine, Session, Statement, Value};
use crate::store::{Created, FollowUpDecision, Settlement, TransactionStore, TransactionWrite};
use crate::transaction::search::TransactionSearch;
use crate::transaction::{JournalEntry, TransactionQuery, TransactionRecord};

macro_rules! transaction_columns {
    () => {
        "id, kind, state, merchant_id, poi_id, terminal_id, client_id, connection_id, \
         amount_minor, currency, approved_minor, approved_currency, refunded_minor, original_id, \
         terminal_request_id, reference, authorisation, result_code, reason, unknown_since, \
         created_at, updated_at, version"
    };
}

/// The states [`TransactionStore::unresolved_transactions`] returns, as in the partial index
/// `transactions_unresolved` (the SQL text must match it for SQLite to use that index).
const UNRESOLVED: &str = "state IN ('pending', 'inProgress', 'unknown')";

/// Runs `write` in a transaction guarded by `idempotency`, then appends `events` and commits;
/// when the key was already taken nothing is written.
pub(super) async fn create_guarded<S: Session>(
    mut session: S,
    idempotency: Option<&IdempotencyRecord>,
    write: Statement,
    events: &[NewEvent],
    journal: &[JournalEntry],
) -> Result<Created> {
    if let Some(key) = idempotency
        && let Some(existing) = idempotency::claim(&mut session, key).await?
    {
        session.rollback().await?;
        return Ok(Created::Duplicate(existing));
    }
    session.execute(write).await?;
    write_journal(&mut session, journal).await?;
    let records = events::write(&mut session, events).await?;
    session.commit().await?;
    Ok(Created::Inserted(records))
}

/// Runs a versioned `update`; when it changed no row, tells a stale version from a missing record.
pub(super) async fn update_versioned<S: Session>(
    mut session: S,
    update: Statement,
    exists: Statement,
    what: String,
    missing: Error,
    events: &[NewEvent],
    journal: &[JournalEntry],
) -> Result<Vec<EventRecord>> {
    if let Err(err) = apply_versioned(&mut session, update, exists, what, missing).await {
        session.rollback().await?;
        return Err(err);
    }
    write_journal(&mut session, journal).await?;
    let records = events::write(&mut session, events).await?;
    session.commit().await?;
    Ok(records)
}

/// Runs a versioned `update` inside an open engine transaction: a stale version is a
/// [`Error::Conflict`], a missing record `missing`.
async fn apply_versioned<S: Session>(
    session: &mut S,
    update: Statement,
    exists: Statement,
    what: String,
    missing: Error,
) -> Result<()> {
    if session.execute(update).await? > 0 {
        return Ok(());
    }
    let found: Option<(i64,)> = session.fetch_optional(exists).await?;
    Err(match found {
        Some(_) => Error::Conflict(what),
        None => missing,
    })
}

/// The versioned update of a transaction record, with the statement that tells a stale version
/// from a missing record.
fn versioned_update(record: &TransactionRecord) -> Result<(Statement, Statement, String)> {
    let what = format!("transaction {}", record.id);
    let previous = record
        .version
        .checked_sub(1)
        .ok_or_else(|| Error::Conflict(what.clone()))?;
    let write = update(TransactionRow::encode(record)?, previous);
    let exists = Statement::new("SELECT version FROM transactions WHERE id = $1")
        .text(record.id.to_string());
    Ok((write, exists, what))
}

/// Reads `original` with its row locked until the transaction ends (`lock` is the engine's
/// [`Engine::LOCK_ROW`]).
async fn lock_original<S: Session>(
    session: &mut S,
    original: &TransactionId,
    lock: &'static str,
) -> Result<TransactionRecord> {
    let select = Statement::new(concat!(
        "SELECT ",
        transaction_columns!(),
        " FROM transactions WHERE id = $1"
    ))
    .push(lock)
    .text(original.to_string());
    session
        .fetch_optional::<TransactionRow>(select)
        .await?
        .ok_or(Error::UnknownTransaction)?
        .decode()
}

/// Every follow-up of `original` as the open transaction sees it, oldest first.
async fn follow_ups_in<S: Session>(
    session: &mut S,
    original: &TransactionId,
) -> Result<Vec<TransactionRecord>> {
    session
        .fetch_all::<TransactionRow>(follow_ups_of(original))
        .await?
        .into_iter()
        .map(TransactionRow::decode)
        .collect()
}

fn follow_ups_of(original: &TransactionId) -> Statement {
    Statement::new(concat!(
        "SELECT ",
        transaction_columns!(),
        " FROM transactions WHERE original_id = $1 ORDER BY created_at, id"
    ))
    .text(original.to_string())
}

/// Appends journal steps inside an open engine transaction.
pub(super) async fn write_journal<S: Session>(
    session: &mut S,
    journal: &[JournalEntry],
) -> Result<()> {
    for entry in journal {
        session.execute(journal_insert(entry)?).await?;
    }
    Ok(())
}

fn journal_insert(entry: &JournalEntry) -> Result<Statement> {
    let row = JournalRow::encode(entry)?;
    Ok(
        Statement::new(
            "INSERT INTO journal (subject_id, at, step, detail) VALUES ($1, $2, $3, $4)",
        )
        .text(row.subject_id)
        .int(row.at)
        .text(row.step)
        .text(row.detail),
    )
}

fn insert(row: TransactionRow) -> Statement {
    bind_all(
        Statement::new(concat!(
            "INSERT INTO transactions (",
            transaction_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,",
            " $17, $18, $19, $20, $21, $22, $23)"
        )),
        row,
    )
}

fn update(row: TransactionRow, previous_version: i64) -> Statement {
    bind_all(
        Statement::new(
            "UPDATE transactions SET kind = $2, state = $3, merchant_id = $4, poi_id = $5, \
             terminal_id = $6, client_id = $7, connection_id = $8, amount_minor = $9, \
             currency = $10, approved_minor = $11, approved_currency = $12, \
             refunded_minor = $13, original_id = $14, terminal_request_id = $15, \
             reference = $16, authorisation = $17, result_code = $18, reason = $19, \
             unknown_since = $20, created_at = $21, updated_at = $22, version = $23 \
             WHERE id = $1 AND version = $24",
        ),
        row,
    )
    .int(previous_version)
}

/// Binds every column, in `transaction_columns!` order.
fn bind_all(statement: Statement, row: TransactionRow) -> Statement {
    statement
        .text(row.id)
        .text(row.kind)
        .text(row.state)
        .text(row.merchant_id)
        .text(row.poi_id)
        .text(row.terminal_id)
        .text(row.client_id)
        .opt_text(row.connection_id)
        .int(row.amount_minor)
        .text(row.currency)
        .opt_int(row.approved_minor)
        .opt_text(row.approved_currency)
        .opt_int(row.refunded_minor)
        .opt_text(row.original_id)
        .text(row.terminal_request_id)
        .opt_text(row.reference)
        .opt_text(row.authorisation)
        .opt_text(row.result_code)
        .opt_text(row.reason)
        .opt_int(row.unknown_since)
        .int(row.created_at)
        .int(row.updated_at)
        .int(row.version)
}

/// The page `query` asks for, newest first (by creation time, then id).
fn list(query: &TransactionQuery) -> Result<Statement> {
    let mut statement = Statement::new(concat!(
        "SELECT ",
        transaction_columns!(),
        " FROM transactions WHERE merchant_id = $1"
    ))
    .text(query.merchant_id.as_str());
    if let Some(state) = query.state {
        statement = statement.clause(" AND state = $?", text(state.as_str()));
    }
    if let Some(poi) = query.poi_id {
        statement = statement.clause(" AND poi_id = $?", text(&poi.to_string()));
    }
    if let Some(from) = query.created_from {
        statement = statement.clause(" AND created_at >= $?", Value::Int(Some(millis(from)?)));
    }
    if let Some(to) = query.created_to {
        statement = statement.clause(" AND created_at < $?", Value::Int(Some(millis(to)?)));
    }
    if let Some(before) = query.before {
        // Rows after the cursor row in the listing order; an unknown cursor matches nothing.
        statement = statement.clause(
            " AND (created_at, id) < (SELECT created_at, id FROM transactions WHERE id = $?)",
            text(&before.to_string()),
        );
    }
    Ok(statement
        .push(" ORDER BY created_at DESC, id DESC")
        .clause(" LIMIT $?", Value::Int(Some(i64::from(query.limit)))))
}

/// The page `search` asks for across sites: newest first, or oldest first for the queue of
/// unknown outcomes (by creation time, then id).
fn search(search: &TransactionSearch) -> Result<Statement> {
    let mut statement = Statement::new(concat!(
        "SELECT ",
        transaction_columns!(),
        " FROM transactions WHERE 1 = 1"
    ));
    if let Some(merchant) = &search.merchant_id {
        statement = statement.clause(" AND merchant_id = $?", text(merchant.as_str()));
    }
    if let Some(poi) = search.poi_id {
        statement = statement.clause(" AND poi_id = $?", text(&poi.to_string()));
    }
    if let Some(state) = search.state {
        statement = statement.clause(" AND state = $?", text(state.as_str()));
    }
    if let Some(kind) = search.kind {
        statement = statement.clause(" AND kind = $?", text(kind.as_str()));
    }
    if let Some(from) = search.created_from {
        statement = statement.clause(" AND created_at >= $?", Value::Int(Some(millis(from)?)));
    }
    if let Some(to) = search.created_to {
        statement = statement.clause(" AND created_at < $?", Value::Int(Some(millis(to)?)));
    }
    if let Some(range) = &search.amount {
        statement = statement.clause(" AND currency = $?", text(range.currency.code()));
        if let Some(min) = range.min {
            statement = statement.clause(" AND amount_minor >= $?", Value::Int(Some(min)));
        }
        if let Some(max) = range.max {
            statement = statement.clause(" AND amount_minor <= $?", Value::Int(Some(max)));
        }
    }
    let oldest_first = search.oldest_first();
    if let Some(after) = search.after {
        // Rows after the cursor row in the listing order; an unknown cursor matches nothing.
        let fragment = if oldest_first {
            " AND (created_at, id) > (SELECT created_at, id FROM transactions WHERE id = $?)"
        } else {
            " AND (created_at, id) < (SELECT created_at, id FROM transactions WHERE id = $?)"
        };
        statement = statement.clause(fragment, text(&after.to_string()));
    }
    let order = if oldest_first {
        " ORDER BY created_at, id"
    } else {
        " ORDER BY created_at DESC, id DESC"
    };
    Ok(statement
        .push(order)
        .clause(" LIMIT $?", Value::Int(Some(i64::from(search.limit)))))
}

fn text(value: &str) -> Value {
    Value::Text(Some(value.to_owned()))
}

#[async_trait]
impl<E: Engine> TransactionStore for SqlStore<E> {
    async fn create_transaction(
        &self,
        transaction: &TransactionRecord,
        idempotency: Option<&IdempotencyRecord>,
        events: &[NewEvent],
        journal: &[JournalEntry],
    ) -> Result<Created> {
        let write = insert(TransactionRow::encode(transaction)?);
        let session = self.engine.begin().await?;
        create_guarded(session, idempotency, write, events, journal).await
    }

    async fn create_follow_up(
        &self,
        original: &TransactionId,
        idempotency: Option<&IdempotencyRecord>,
        decide: &FollowUpDecision<'_>,
    ) -> Result<Created> {
        let mut session = self.engine.begin().await?;
        if let Some(key) = idempotency
            && let Some(existing) = idempotency::claim(&mut session, key).await?
        {
            session.rollback().await?;
            return Ok(Created::Duplicate(existing));
        }
        // Dropped without a commit on any error below: the session rolls back.
        let original = lock_original(&mut session, original, E::LOCK_ROW).await?;
        let follow_ups = follow_ups_in(&mut session, &original.id).await?;
        let write = decide(&original, &follow_ups)?;
        session
            .execute(insert(TransactionRow::encode(&write.record)?))
            .await?;
        write_journal(&mut session, &write.journal).await?;
        let records = events::write(&mut session, &write.events).await?;
        session.commit().await?;
        Ok(Created::Inserted(records))
    }

    async fn update_follow_up(
        &self,
        follow_up: &TransactionWrite,
        settle: &Settlement<'_>,
    ) -> Result<Vec<EventRecord>> {
        let original_id = follow_up.record.original_id.ok_or_else(|| {
            Error::Internal(format!(
                "transaction {} has no original to settle",
                follow_up.record.id
            ))
        })?;
        let (write, exists, what) = versioned_update(&follow_up.record)?;
        let mut session = self.engine.begin().await?;
        // The original first: every writer that touches both rows takes them in this order.
        let original = lock_original(&mut session, &original_id, E::LOCK_ROW).await?;
        apply_versioned(&mut session, write, exists, what, Error::UnknownTransaction).await?;
        let follow_ups = follow_ups_in(&mut session, &original_id).await?;
        let settled = settle(&original, &follow_ups)?;
        let mut journal = follow_up.journal.clone();
        let mut events = follow_up.events.clone();
        if let Some(change) = settled {
            let (write, exists, what) = versioned_update(&change.record)?;
            apply_versioned(&mut session, write, exists, what, Error::UnknownTransaction).await?;
            journal.extend(change.journal);
            events.extend(change.events);
        }
        write_journal(&mut session, &journal).await?;
        let records = events::write(&mut session, &events).await?;
        session.commit().await?;
        Ok(records)
    }

    async fn unresolved_on_terminal(
        &self,
        terminal: &TerminalId,
    ) -> Result<Option<TransactionRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            transaction_columns!(),
            " FROM transactions WHERE "
        ))
        .push(UNRESOLVED)
        .push(" AND terminal_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1")
        .text(terminal.as_str());
        self.engine
            .fetch_optional::<TransactionRow>(statement)
            .await?
            .map(TransactionRow::decode)
            .transpose()
    }

    async fn transaction(&self, id: &TransactionId) -> Result<Option<TransactionRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            transaction_columns!(),
            " FROM transactions WHERE id = $1"
        ))
        .text(id.to_string());
        self.engine
            .fetch_optional::<TransactionRow>(statement)
            .await?
            .map(TransactionRow::decode)
            .transpose()
    }

    async fn update_transaction(
        &self,
        transaction: &TransactionRecord,
        events: &[NewEvent],
        journal: &[JournalEntry],
    ) -> Result<Vec<EventRecord>> {
        let (write, exists, what) = versioned_update(transaction)?;
        let session = self.engine.begin().await?;
        update_versioned(
            session,
            write,
            exists,
            what,
            Error::UnknownTransaction,
            events,
            journal,
        )
        .await
    }

    async fn transactions(&self, query: &TransactionQuery) -> Result<Vec<TransactionRecord>> {
        self.engine
            .fetch_all::<TransactionRow>(list(query)?)
            .await?
            .into_iter()
            .map(TransactionRow::decode)
            .collect()
    }

    async fn search_transactions(
        &self,
        query: &TransactionSearch,
    ) -> Result<Vec<TransactionRecord>> {
        self.engine
            .fetch_all::<TransactionRow>(search(query)?)
            .await?
            .into_iter()
            .map(TransactionRow::decode)
            .collect()
    }

    async fn unresolved_transactions(&self) -> Result<Vec<TransactionRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            transaction_columns!(),
            " FROM transactions WHERE "
        ))
        .push(UNRESOLVED)
        .push(" ORDER BY created_at, id");
        self.engine
            .fetch_all::<TransactionRow>(statement)
            .await?
            .into_iter()
            .map(TransactionRow::decode)
            .collect()
    }

    async fn follow_ups(&self, original: &TransactionId) -> Result<Vec<TransactionRecord>> {
        self.engine
            .fetch_all::<TransactionRow>(follow_ups_of(original))
            .await?
            .into_iter()
            .map(TransactionRow::decode)
            .collect()
    }

    /// The newest, should a terminal ever reuse a RequestID.
    async fn transaction_by_request(
        &self,
        terminal: &TerminalId,
        request_id: &TerminalRequestId,
    ) -> Result<Option<TransactionRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            transaction_columns!(),
            " FROM transactions WHERE terminal_id = $1 AND terminal_request_id = $2",
            " ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .text(terminal.as_str())
        .text(request_id.as_str());
        self.engine
            .fetch_optional::<TransactionRow>(statement)
            .await?
            .map(TransactionRow::decode)
            .transpose()
    }

    async fn append_journal(&self, entry: &JournalEntry) -> Result<()> {
        self.engine.execute(journal_insert(entry)?).await?;
        Ok(())
    }

    async fn journal(&self, subject_id: &str) -> Result<Vec<JournalEntry>> {
        let statement = Statement::new(
            "SELECT subject_id, at, step, detail FROM journal WHERE subject_id = $1 \
             ORDER BY at, seq",
        )
        .text(subject_id);
        self.engine
            .fetch_all::<JournalRow>(statement)
            .await?
            .into_iter()
            .map(JournalRow::decode)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::transaction::TransactionState;

    #[test]
    fn unresolved_filter_lists_exactly_the_unresolved_states() {
        for state in TransactionState::ALL {
            let listed = super::UNRESOLVED.contains(&format!("'{}'", state.as_str()));
            assert_eq!(listed, state.is_unresolved(), "{state}");
        }
    }
}
