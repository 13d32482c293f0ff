//! Idempotency keys: one table keyed by `(client_id, idem_key)` guards every create.
//!
//! A key is claimed insert-first (`ON CONFLICT DO NOTHING`): the unique constraint decides the one
//! winner even when identical requests race, and a loser reads the winner's record. On PostgreSQL
//! the loser's insert waits for the winner's transaction to end, so the record it then reads is
//! committed.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::SqlStore;
use crate::error::{Error, Result};
use crate::idempotency::IdempotencyRecord;
use crate::ids::{ClientId, IdempotencyKey};
use crate::store::IdempotencyStore;
use crate::store::codec::{IdempotencyRow, millis};
use crate::store::engine::{Engine, Session, Statement};

macro_rules! idempotency_columns {
    () => {
        "client_id, idem_key, fingerprint, resource, outcome, created_at, expires_at"
    };
}

/// Claims `record`'s key inside `session`; returns the earlier record when the key was taken.
pub(super) async fn claim<S: Session>(
    session: &mut S,
    record: &IdempotencyRecord,
) -> Result<Option<IdempotencyRecord>> {
    let row = IdempotencyRow::encode(record)?;
    let insert = Statement::new(concat!(
        "INSERT INTO idempotency_keys (",
        idempotency_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (client_id, idem_key) DO NOTHING"
    ))
    .text(row.client_id.clone())
    .text(row.idem_key.clone())
    .text(row.fingerprint)
    .opt_text(row.resource)
    .opt_text(row.outcome)
    .int(row.created_at)
    .int(row.expires_at);
    if session.execute(insert).await? > 0 {
        return Ok(None);
    }
    let existing = session
        .fetch_optional::<IdempotencyRow>(select(row.client_id, row.idem_key))
        .await?
        .ok_or_else(|| {
            // Taken and gone again between the two statements: only a purge can do that.
            Error::Conflict(format!("idempotency key {}", record.key))
        })?;
    existing.decode().map(Some)
}

fn select(client: String, key: String) -> Statement {
    Statement::new(concat!(
        "SELECT ",
        idempotency_columns!(),
        " FROM idempotency_keys WHERE client_id = $1 AND idem_key = $2"
    ))
    .text(client)
    .text(key)
}

#[async_trait]
impl<E: Engine> IdempotencyStore for SqlStore<E> {
    async fn idempotency(
        &self,
        client: &ClientId,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotencyRecord>> {
        self.engine
            .fetch_optional::<IdempotencyRow>(select(client.to_string(), key.to_string()))
            .await?
            .map(IdempotencyRow::decode)
            .transpose()
    }

    async fn insert_idempotency(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>> {
        let mut session = self.engine.begin().await?;
        let existing = claim(&mut session, record).await?;
        session.commit().await?;
        Ok(existing)
    }

    async fn complete_idempotency(
        &self,
        client: &ClientId,
        key: &IdempotencyKey,
        outcome: &str,
    ) -> Result<()> {
        let statement = Statement::new(
            "UPDATE idempotency_keys SET outcome = $3 WHERE client_id = $1 AND idem_key = $2",
        )
        .text(client.as_str())
        .text(key.as_str())
        .text(outcome);
        if self.engine.execute(statement).await? == 0 {
            return Err(Error::Internal(format!(
                "idempotency key {key} of {client} is not stored"
            )));
        }
        Ok(())
    }

    async fn purge_idempotency(&self, before: OffsetDateTime) -> Result<u64> {
        let statement = Statement::new("DELETE FROM idempotency_keys WHERE expires_at < $1")
            .int(millis(before)?);
        self.engine.execute(statement).await
    }
}
