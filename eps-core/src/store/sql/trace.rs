//! The OPI trace: frames appended in batches, read back per transaction in write order.

use async_trait::async_trait;

use super::SqlStore;
use crate::error::Result;
use crate::ids::TransactionId;
use crate::opi_trace::{OpiChannel, TraceDirection, TracedFrame};
use crate::store::TraceStore;
use crate::store::codec::{corrupt, instant, millis, named};
use crate::store::engine::{Engine, Statement};

/// A stored frame as plain columns.
#[derive(Debug, Clone, sqlx::FromRow)]
struct TraceRow {
    at: i64,
    seq: i64,
    direction: String,
    channel: i64,
    message: String,
    request_type: String,
    xml: String,
}

impl TraceRow {
    fn decode(self, transaction_id: TransactionId) -> Result<TracedFrame> {
        Ok(TracedFrame {
            transaction_id,
            at: instant("opi_trace.at", self.at)?,
            seq: u32::try_from(self.seq).map_err(|e| corrupt("opi_trace.seq", e))?,
            direction: named(
                "opi_trace.direction",
                &self.direction,
                TraceDirection::parse,
            )?,
            channel: OpiChannel::from_number(self.channel)
                .ok_or_else(|| corrupt("opi_trace.channel", self.channel))?,
            message: self.message,
            request_type: self.request_type,
            xml: self.xml.into(),
        })
    }
}

#[async_trait]
impl<E: Engine> TraceStore for SqlStore<E> {
    async fn insert_trace(&self, frames: &[TracedFrame]) -> Result<()> {
        if frames.is_empty() {
            return Ok(());
        }
        let mut statement = Statement::new(
            "INSERT INTO opi_trace (transaction_id, at, seq, direction, channel, message, \
             request_type, xml) VALUES ",
        );
        for (i, frame) in frames.iter().enumerate() {
            let first = statement.len() + 1;
            let placeholders: Vec<String> = (first..first + 8).map(|n| format!("${n}")).collect();
            let separator = if i == 0 { "" } else { ", " };
            statement = statement
                .push_assembled(&format!("{separator}({})", placeholders.join(", ")))
                .text(frame.transaction_id.to_string())
                .int(millis(frame.at)?)
                .int(i64::from(frame.seq))
                .text(frame.direction.as_str())
                .int(i64::from(frame.channel.number()))
                .text(frame.message.as_str())
                .text(frame.request_type.as_str())
                .text(frame.xml.as_str());
        }
        self.engine().execute(statement).await?;
        Ok(())
    }

    async fn trace(&self, id: &TransactionId) -> Result<Vec<TracedFrame>> {
        let rows: Vec<TraceRow> = self
            .engine()
            .fetch_all(
                Statement::new(
                    "SELECT at, seq, direction, channel, message, request_type, xml \
                     FROM opi_trace WHERE transaction_id = $1 ORDER BY id",
                )
                .text(id.to_string()),
            )
            .await?;
        rows.into_iter().map(|row| row.decode(*id)).collect()
    }
}
