//! Receipts, prompts and reconciliations.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::transactions::{create_guarded, update_versioned, write_journal};
use super::{SqlStore, events};
use crate::error::{Error, Result};
use crate::event::{EventRecord, NewEvent};
use crate::idempotency::IdempotencyRecord;
use crate::ids::{ClientId, PoiId, PromptId, ReceiptId, ReconciliationId, TransactionId};
use crate::prompt::{PromptAnswer, PromptRecord, PromptState};
use crate::receipt::ReceiptRecord;
use crate::reconciliation::ReconciliationRecord;
use crate::store::codec::{PromptRow, ReceiptRow, ReconciliationRow, millis, to_json};
use crate::store::engine::{Engine, Session, Statement};
use crate::store::{Created, PromptStore, ReceiptStore, ReconciliationStore};
use crate::transaction::JournalEntry;

macro_rules! receipt_columns {
    () => {
        "id, merchant_id, poi_id, transaction_id, reconciliation_id, receipt_copy, \
         device_target, lines, created_at"
    };
}

macro_rules! prompt_columns {
    () => {
        "id, merchant_id, poi_id, transaction_id, kind, device_target, lines, input, state, \
         answer, answered_by, created_at, expires_at, updated_at"
    };
}

macro_rules! reconciliation_columns {
    () => {
        "id, merchant_id, poi_id, terminal_id, client_id, closure, state, totals, \
         terminal_request_id, result_code, reason, created_at, updated_at, version"
    };
}

#[async_trait]
impl<E: Engine> ReceiptStore for SqlStore<E> {
    async fn insert_receipt(
        &self,
        receipt: &ReceiptRecord,
        events: &[NewEvent],
        journal: &[JournalEntry],
    ) -> Result<Vec<EventRecord>> {
        let row = ReceiptRow::encode(receipt)?;
        let insert = Statement::new(concat!(
            "INSERT INTO receipts (",
            receipt_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .text(row.id)
        .text(row.merchant_id)
        .text(row.poi_id)
        .opt_text(row.transaction_id)
        .opt_text(row.reconciliation_id)
        .text(row.receipt_copy)
        .text(row.device_target)
        .text(row.lines)
        .int(row.created_at);
        let mut session = self.engine.begin().await?;
        write_journal(&mut session, journal).await?;
        insert_with_events(session, insert, events).await
    }

    async fn receipt(&self, id: &ReceiptId) -> Result<Option<ReceiptRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            receipt_columns!(),
            " FROM receipts WHERE id = $1"
        ))
        .text(id.to_string());
        self.engine
            .fetch_optional::<ReceiptRow>(statement)
            .await?
            .map(ReceiptRow::decode)
            .transpose()
    }

    async fn transaction_receipts(&self, id: &TransactionId) -> Result<Vec<ReceiptRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            receipt_columns!(),
            " FROM receipts WHERE transaction_id = $1 ORDER BY created_at, id"
        ))
        .text(id.to_string());
        receipts(&self.engine, statement).await
    }

    async fn reconciliation_receipts(&self, id: &ReconciliationId) -> Result<Vec<ReceiptRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            receipt_columns!(),
            " FROM receipts WHERE reconciliation_id = $1 ORDER BY created_at, id"
        ))
        .text(id.to_string());
        receipts(&self.engine, statement).await
    }
}

async fn receipts<E: Engine>(engine: &E, statement: Statement) -> Result<Vec<ReceiptRecord>> {
    engine
        .fetch_all::<ReceiptRow>(statement)
        .await?
        .into_iter()
        .map(ReceiptRow::decode)
        .collect()
}

#[async_trait]
impl<E: Engine> PromptStore for SqlStore<E> {
    async fn insert_prompt(
        &self,
        prompt: &PromptRecord,
        events: &[NewEvent],
    ) -> Result<Vec<EventRecord>> {
        let row = PromptRow::encode(prompt)?;
        let insert = Statement::new(concat!(
            "INSERT INTO prompts (",
            prompt_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .text(row.id)
        .text(row.merchant_id)
        .text(row.poi_id)
        .opt_text(row.transaction_id)
        .text(row.kind)
        .text(row.device_target)
        .text(row.lines)
        .opt_text(row.input)
        .text(row.state)
        .opt_text(row.answer)
        .opt_text(row.answered_by)
        .int(row.created_at)
        .opt_int(row.expires_at)
        .int(row.updated_at);
        insert_with_events(self.engine.begin().await?, insert, events).await
    }

    async fn prompt(&self, id: &PromptId) -> Result<Option<PromptRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            prompt_columns!(),
            " FROM prompts WHERE id = $1"
        ))
        .text(id.to_string());
        self.engine
            .fetch_optional::<PromptRow>(statement)
            .await?
            .map(PromptRow::decode)
            .transpose()
    }

    async fn close_prompt(
        &self,
        id: &PromptId,
        state: PromptState,
        answer: Option<&PromptAnswer>,
        answered_by: Option<&ClientId>,
        at: OffsetDateTime,
    ) -> Result<bool> {
        if state == PromptState::Open {
            return Err(Error::InvalidState(
                "a prompt cannot be closed as open".into(),
            ));
        }
        let statement = Statement::new(
            "UPDATE prompts SET state = $2, answer = $3, answered_by = $4, updated_at = $5 \
             WHERE id = $1 AND state = 'open'",
        )
        .text(id.to_string())
        .text(state.as_str())
        .opt_text(answer.map(to_json).transpose()?)
        .opt_text(answered_by.map(ClientId::as_str))
        .int(millis(at)?);
        Ok(self.engine.execute(statement).await? > 0)
    }

    async fn open_prompts(&self, poi: &PoiId) -> Result<Vec<PromptRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            prompt_columns!(),
            " FROM prompts WHERE poi_id = $1 AND state = 'open' ORDER BY created_at, id"
        ))
        .text(poi.to_string());
        self.engine
            .fetch_all::<PromptRow>(statement)
            .await?
            .into_iter()
            .map(PromptRow::decode)
            .collect()
    }
}

#[async_trait]
impl<E: Engine> ReconciliationStore for SqlStore<E> {
    async fn create_reconciliation(
        &self,
        reconciliation: &ReconciliationRecord,
        idempotency: Option<&IdempotencyRecord>,
        events: &[NewEvent],
    ) -> Result<Created> {
        let row = ReconciliationRow::encode(reconciliation)?;
        let insert = bind_reconciliation(
            Statement::new(concat!(
                "INSERT INTO reconciliations (",
                reconciliation_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            )),
            row,
        );
        create_guarded(self.engine.begin().await?, idempotency, insert, events, &[]).await
    }

    async fn reconciliation(&self, id: &ReconciliationId) -> Result<Option<ReconciliationRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            reconciliation_columns!(),
            " FROM reconciliations WHERE id = $1"
        ))
        .text(id.to_string());
        self.engine
            .fetch_optional::<ReconciliationRow>(statement)
            .await?
            .map(ReconciliationRow::decode)
            .transpose()
    }

    async fn update_reconciliation(
        &self,
        reconciliation: &ReconciliationRecord,
        events: &[NewEvent],
    ) -> Result<Vec<EventRecord>> {
        let what = format!("reconciliation {}", reconciliation.id);
        let previous = reconciliation
            .version
            .checked_sub(1)
            .ok_or_else(|| Error::Conflict(what.clone()))?;
        let update = bind_reconciliation(
            Statement::new(
                "UPDATE reconciliations SET merchant_id = $2, poi_id = $3, terminal_id = $4, \
                 client_id = $5, closure = $6, state = $7, totals = $8, \
                 terminal_request_id = $9, result_code = $10, reason = $11, created_at = $12, \
                 updated_at = $13, version = $14 WHERE id = $1 AND version = $15",
            ),
            ReconciliationRow::encode(reconciliation)?,
        )
        .int(previous);
        let exists = Statement::new("SELECT version FROM reconciliations WHERE id = $1")
            .text(reconciliation.id.to_string());
        update_versioned(
            self.engine.begin().await?,
            update,
            exists,
            what,
            Error::NotFound("reconciliation"),
            events,
            &[],
        )
        .await
    }

    async fn unresolved_reconciliations(&self) -> Result<Vec<ReconciliationRecord>> {
        let statement = Statement::new(concat!(
            "SELECT ",
            reconciliation_columns!(),
            " FROM reconciliations WHERE state IN ('pending', 'inProgress')",
            " ORDER BY created_at, id"
        ));
        self.engine
            .fetch_all::<ReconciliationRow>(statement)
            .await?
            .into_iter()
            .map(ReconciliationRow::decode)
            .collect()
    }
}

/// Binds every column, in `reconciliation_columns!` order.
fn bind_reconciliation(statement: Statement, row: ReconciliationRow) -> Statement {
    statement
        .text(row.id)
        .text(row.merchant_id)
        .text(row.poi_id)
        .text(row.terminal_id)
        .text(row.client_id)
        .bool(row.closure)
        .text(row.state)
        .text(row.totals)
        .text(row.terminal_request_id)
        .opt_text(row.result_code)
        .opt_text(row.reason)
        .int(row.created_at)
        .int(row.updated_at)
        .int(row.version)
}

/// Runs `insert`, appends `events` and commits.
async fn insert_with_events<S: Session>(
    mut session: S,
    insert: Statement,
    events: &[NewEvent],
) -> Result<Vec<EventRecord>> {
    session.execute(insert).await?;
    let records = events::write(&mut session, events).await?;
    session.commit().await?;
    Ok(records)
}
