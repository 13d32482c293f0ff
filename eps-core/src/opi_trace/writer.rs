//! [`TraceWriter`]: a bounded queue of traced frames and the one task that writes them in
//! batches, one insert per batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{TraceSink, TracedFrame};
use crate::store::Store;

/// Most frames written by one insert.
const MAX_BATCH: usize = 64;

/// The queue side of the trace writer: cheap to clone, never waits.
#[derive(Debug, Clone)]
pub struct TraceWriter {
    queue: mpsc::Sender<TracedFrame>,
    dropped: Arc<AtomicU64>,
}

/// The writer task: it ends when told to finish, or once every [`TraceWriter`] is dropped,
/// after writing what is queued.
#[derive(Debug)]
pub struct TraceWriterHandle {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl TraceWriterHandle {
    /// Writes what is queued now, then stops the task (frames queued later are dropped).
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

impl TraceWriter {
    /// A queue of `capacity` frames and the task writing them to `store`.
    pub fn spawn(store: Arc<dyn Store>, capacity: usize) -> (Self, TraceWriterHandle) {
        let (queue, frames) = mpsc::channel(capacity.max(1));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(write_batches(store, frames, stopped));
        let writer = Self {
            queue,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        (writer, TraceWriterHandle { stop, task })
    }

    /// How many frames were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl TraceSink for TraceWriter {
    fn record(&self, frame: TracedFrame) {
        if let Err(e) = self.queue.try_send(frame) {
            let frame = match e {
                mpsc::error::TrySendError::Full(frame)
                | mpsc::error::TrySendError::Closed(frame) => frame,
            };
            let total = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            metrics::counter!("eps_opi_trace_dropped_total").increment(1);
            tracing::warn!(transaction = %frame.transaction_id, dropped_total = total,
                "OPI trace queue full or closed: frame dropped");
        }
    }
}

/// Takes what is queued, up to [`MAX_BATCH`] frames, and writes it with one insert, until
/// `stopped` fires (then what is queued is written) or every sender is gone.
async fn write_batches(
    store: Arc<dyn Store>,
    mut frames: mpsc::Receiver<TracedFrame>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        tokio::select! {
            biased;
            received = frames.recv_many(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    return;
                }
                write(&*store, &mut batch).await;
            }
            _ = &mut stopped => {
                frames.close();
                while frames.recv_many(&mut batch, MAX_BATCH).await > 0 {
                    write(&*store, &mut batch).await;
                }
                return;
            }
        }
    }
}

/// Writes `batch` with one insert and empties it; a failed write is logged and counted, and the
/// frames are lost (the payment is not affected).
async fn write(store: &dyn Store, batch: &mut Vec<TracedFrame>) {
    if let Err(e) = store.insert_trace(batch).await {
        metrics::counter!("eps_opi_trace_dropped_total").increment(batch.len() as u64);
        tracing::warn!(error = %e, frames = batch.len(), "OPI trace frames could not be written");
    }
    batch.clear();
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::ids::TransactionId;
    use crate::opi_trace::{OpiChannel, TraceDirection, WireFrame};

    fn frame(id: TransactionId, seq: u32) -> TracedFrame {
        let wire = WireFrame {
            direction: TraceDirection::Out,
            channel: OpiChannel::Requests,
            message: "CardServiceRequest".into(),
            request_type: "CardPayment".into(),
            xml: "<CardServiceRequest/>".into(),
        };
        TracedFrame::new(id, OffsetDateTime::UNIX_EPOCH, seq, wire)
    }

    // On the current-thread runtime the writer task cannot run between the calls: the queue
    // fills, and `record` drops instead of waiting.
    #[tokio::test]
    async fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let store = crate::store::open("sqlite::memory:").await.unwrap();
        let (writer, task) = TraceWriter::spawn(store.clone(), 2);
        let id = TransactionId::generate();
        for seq in 0..5 {
            writer.record(frame(id, seq));
        }
        assert_eq!(writer.dropped(), 3);
        task.finish().await;
        let kept: Vec<u32> = store
            .trace(&id)
            .await
            .unwrap()
            .iter()
            .map(|f| f.seq)
            .collect();
        assert_eq!(kept, [0, 1]);
    }
}
