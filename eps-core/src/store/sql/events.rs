//! The event log: ids from the `event_log` counter row, advanced in the writing transaction.
//!
//! On PostgreSQL the `UPDATE … RETURNING` of the counter row takes its row lock and holds it until
//! commit, so a second writer cannot take ids until the first has committed (or rolled back, which
//! also rolls the counter back): ids are contiguous and in commit order, and a reader that sees
//! id N+1 already sees N. On SQLite writers are serialized outright.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::SqlStore;
use crate::error::{Error, Result};
use crate::event::{EventRecord, NewEvent};
use crate::ids::{EventId, MerchantId, PoiId};
use crate::store::EventStore;
use crate::store::codec::{EventRow, millis};
use crate::store::engine::{Engine, Session, Statement};

/// Events per INSERT statement (five parameters each, far below both engines' limits).
const INSERT_BATCH: usize = 200;

macro_rules! event_columns {
    () => {
        "id, merchant_id, at, kind, payload"
    };
}

/// Appends `events` inside `session`; call it last, just before commit.
pub(super) async fn write<S: Session>(
    session: &mut S,
    events: &[NewEvent],
) -> Result<Vec<EventRecord>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let count = i64::try_from(events.len())
        .map_err(|_| Error::Internal("too many events in one write".into()))?;
    let (last,): (i64,) = session
        .fetch_one(
            Statement::new(
                "UPDATE event_log SET last_id = last_id + $1 WHERE singleton = 1 RETURNING last_id",
            )
            .int(count),
        )
        .await?;
    let rows = events
        .iter()
        .zip(last - count + 1..)
        .map(|(event, id)| EventRow::encode(EventId::new(id), event))
        .collect::<Result<Vec<_>>>()?;
    for batch in rows.chunks(INSERT_BATCH) {
        let mut statement = Statement::new(concat!(
            "INSERT INTO events (",
            event_columns!(),
            ") VALUES "
        ));
        for (i, row) in batch.iter().enumerate() {
            let n = statement.len();
            let values = format!(
                "{}(${}, ${}, ${}, ${}, ${})",
                if i == 0 { "" } else { ", " },
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5
            );
            statement = statement
                .push_assembled(&values)
                .int(row.id)
                .opt_text(row.merchant_id.clone())
                .int(row.at)
                .text(row.kind.clone())
                .text(row.payload.clone());
        }
        session.execute(statement).await?;
    }
    rows.into_iter().map(EventRow::decode).collect()
}

#[async_trait]
impl<E: Engine> EventStore for SqlStore<E> {
    async fn append_events(&self, events: &[NewEvent]) -> Result<Vec<EventRecord>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut session = self.engine.begin().await?;
        let records = write(&mut session, events).await?;
        session.commit().await?;
        Ok(records)
    }

    async fn events_after(
        &self,
        merchant: Option<&MerchantId>,
        after: EventId,
        limit: u32,
    ) -> Result<Vec<EventRecord>> {
        let statement = match merchant {
            Some(merchant) => Statement::new(concat!(
                "SELECT ",
                event_columns!(),
                " FROM events WHERE merchant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
            ))
            .text(merchant.as_str()),
            None => Statement::new(concat!(
                "SELECT ",
                event_columns!(),
                " FROM events WHERE id > $1 ORDER BY id LIMIT $2"
            )),
        }
        .int(after.value())
        .int(i64::from(limit));
        self.engine
            .fetch_all::<EventRow>(statement)
            .await?
            .into_iter()
            .map(EventRow::decode)
            .collect()
    }

    async fn latest_event_id(&self) -> Result<EventId> {
        let (last,): (i64,) = self
            .engine
            .fetch_optional(Statement::new(
                "SELECT last_id FROM event_log WHERE singleton = 1",
            ))
            .await?
            .ok_or_else(missing_counter)?;
        Ok(EventId::new(last))
    }

    async fn purged_through(&self) -> Result<EventId> {
        let (purged,): (i64,) = self
            .engine
            .fetch_optional(Statement::new(
                "SELECT purged_through FROM event_log WHERE singleton = 1",
            ))
            .await?
            .ok_or_else(missing_counter)?;
        Ok(EventId::new(purged))
    }

    async fn purge_events(&self, before: OffsetDateTime) -> Result<u64> {
        let mut session = self.engine.begin().await?;
        let (first_kept,): (Option<i64>,) = session
            .fetch_one(
                Statement::new("SELECT MIN(id) FROM events WHERE at >= $1").int(millis(before)?),
            )
            .await?;
        let through = match first_kept {
            Some(id) => Some(id - 1),
            None => {
                let (newest,): (Option<i64>,) = session
                    .fetch_one(Statement::new("SELECT MAX(id) FROM events"))
                    .await?;
                newest
            }
        };
        let Some(through) = through else {
            session.rollback().await?;
            return Ok(0);
        };
        let deleted = session
            .execute(Statement::new("DELETE FROM events WHERE id <= $1").int(through))
            .await?;
        if deleted > 0 {
            session
                .execute(
                    Statement::new(
                        "UPDATE event_log SET purged_through = $1 \
                         WHERE singleton = 1 AND purged_through < $1",
                    )
                    .int(through),
                )
                .await?;
        }
        session.commit().await?;
        Ok(deleted)
    }

    async fn sync_known_pois(
        &self,
        pois: &[(MerchantId, PoiId)],
        at: OffsetDateTime,
    ) -> Result<Vec<EventRecord>> {
        super::pois::sync(self, pois, at).await
    }
}

fn missing_counter() -> Error {
    Error::Storage("the event_log row is missing: the schema was not migrated".into())
}
