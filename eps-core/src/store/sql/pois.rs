//! Known POIs: the configured set at the last start, and a `newPOIEvent` for each addition.

use time::OffsetDateTime;

use super::{SqlStore, events};
use crate::error::{Error, Result};
use crate::event::{EventKind, EventRecord, NewEvent};
use crate::ids::{MerchantId, PoiId};
use crate::store::codec::millis;
use crate::store::engine::{Engine, Session, Statement};

/// The most POIs one sync accepts (one bound parameter each in the forgetting statement).
const MAX_POIS: usize = 10_000;

/// See [`crate::store::EventStore::sync_known_pois`].
pub(super) async fn sync<E: Engine>(
    store: &SqlStore<E>,
    pois: &[(MerchantId, PoiId)],
    at: OffsetDateTime,
) -> Result<Vec<EventRecord>> {
    if pois.len() > MAX_POIS {
        return Err(Error::Internal(format!(
            "{} POIs configured; at most {MAX_POIS} are supported",
            pois.len()
        )));
    }
    let at_ms = millis(at)?;
    let mut session = store.engine().begin().await?;
    let (recorded,): (i64,) = session
        .fetch_one(Statement::new(
            "SELECT pois_recorded FROM event_log WHERE singleton = 1",
        ))
        .await?;
    let mut added = Vec::new();
    for (merchant, poi) in pois {
        let inserted = session
            .execute(
                Statement::new(
                    "INSERT INTO known_pois (poi_id, merchant_id, first_seen) \
                     VALUES ($1, $2, $3) ON CONFLICT (poi_id) DO NOTHING",
                )
                .text(poi.to_string())
                .text(merchant.as_str())
                .int(at_ms),
            )
            .await?;
        if inserted > 0 {
            added.push(NewEvent {
                merchant_id: Some(merchant.clone()),
                at,
                kind: EventKind::NewPoi { poi_id: *poi },
            });
        }
    }
    session.execute(forget_others(pois)).await?;
    let events = if recorded == 0 { Vec::new() } else { added };
    // Last, as every write does: the counter row is locked only for the tail.
    let records = events::write(&mut session, &events).await?;
    if recorded == 0 {
        session
            .execute(Statement::new(
                "UPDATE event_log SET pois_recorded = 1 WHERE singleton = 1",
            ))
            .await?;
    }
    session.commit().await?;
    Ok(records)
}

/// Deletes the known POIs that are not in `pois`.
fn forget_others(pois: &[(MerchantId, PoiId)]) -> Statement {
    if pois.is_empty() {
        return Statement::new("DELETE FROM known_pois");
    }
    let placeholders = (1..=pois.len())
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut statement = Statement::new("DELETE FROM known_pois WHERE poi_id NOT IN (")
        .push_assembled(&placeholders)
        .push(")");
    for (_, poi) in pois {
        statement = statement.text(poi.to_string());
    }
    statement
}
