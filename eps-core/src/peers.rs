//! What this node learns of the writes of every node sharing its database: new events wake the
//! event tailer (the poll stays as the floor), and a connection deleted anywhere ends its event
//! streams here. After the signals may have been lost (the listener reconnected), the tailer
//! reads once and every watched connection is looked up again.

use std::future::Future;

use crate::connection::ConnectionService;
use crate::event::EventLog;
use crate::store::{Signal, Signals};

/// Acts on `signals` until `stop` resolves.
pub async fn follow(
    mut signals: Box<dyn Signals>,
    events: EventLog,
    connections: ConnectionService,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        let signal = tokio::select! {
            () = &mut stop => return,
            signal = signals.next() => signal,
        };
        match signal {
            Signal::EventsCommitted => events.committed(),
            Signal::ConnectionClosed(id) => connections.closed_elsewhere(&id),
            Signal::Resumed => {
                events.committed();
                match connections.close_vanished().await {
                    Ok(0) => {}
                    Ok(count) => {
                        tracing::info!(count, "event streams of vanished connections ended")
                    }
                    Err(err) => tracing::warn!(%err, "watched connections could not be checked"),
                }
            }
        }
    }
}
