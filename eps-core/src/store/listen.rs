//! PostgreSQL's LISTEN/NOTIFY as [`Signals`]: the triggers of migration 0009 notify
//! `eps_events` when events are inserted and `eps_connections` when a connection is deleted, each
//! payload led by the schema written to; this listener hears those of its own schema.
//!
//! The listener has a connection of its own (not one of the store's pool). A notification is a
//! hint: those sent while the listener was reconnecting are lost, which [`Signal::Resumed`]
//! announces so the reader can look for itself.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgNotification, PgPool, PgPoolOptions};

use super::{Signal, Signals};
use crate::error::Result;
use crate::ids::ConnectionId;

/// Notified with the schema when events are inserted.
const EVENTS: &str = "eps_events";
/// Notified with the schema and the connection id when a connection is deleted.
const CONNECTIONS: &str = "eps_connections";
/// How long to wait before trying again to reach a database that refused the listener.
const RETRY: Duration = Duration::from_secs(1);

/// Signals of one schema, from a listener that reconnects by itself.
pub(crate) struct PgSignals {
    pool: PgPool,
    schema: String,
    listener: Option<PgListener>,
}

impl PgSignals {
    /// Starts listening with `options` (those of the store, so the same database and schema).
    pub(crate) async fn start(options: &PgConnectOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with(options.clone())
            .await?;
        let (schema,): (String,) = sqlx::query_as("SELECT current_schema()")
            .fetch_one(&pool)
            .await?;
        let listener = listen(&pool).await?;
        Ok(Self {
            pool,
            schema,
            listener: Some(listener),
        })
    }

    /// What `notification` says about this schema, if anything.
    fn decode(&self, notification: &PgNotification) -> Option<Signal> {
        let payload = notification.payload();
        match notification.channel() {
            EVENTS if payload == self.schema => Some(Signal::EventsCommitted),
            CONNECTIONS => {
                let (schema, id) = payload.split_once(' ')?;
                if schema != self.schema {
                    return None;
                }
                ConnectionId::parse(id).ok().map(Signal::ConnectionClosed)
            }
            _ => None,
        }
    }
}

#[async_trait]
impl Signals for PgSignals {
    async fn next(&mut self) -> Signal {
        loop {
            let Some(listener) = &mut self.listener else {
                match listen(&self.pool).await {
                    Ok(listener) => {
                        tracing::info!("listening for other nodes' writes again");
                        self.listener = Some(listener);
                        return Signal::Resumed;
                    }
                    Err(err) => {
                        tracing::warn!(%err, "cannot listen for other nodes' writes; retrying");
                        tokio::time::sleep(RETRY).await;
                        continue;
                    }
                }
            };
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if let Some(signal) = self.decode(&notification) {
                        return signal;
                    }
                }
                // The connection was lost and is back (reconnected before returning).
                Ok(None) => return Signal::Resumed,
                Err(err) => {
                    tracing::warn!(%err, "lost the listener for other nodes' writes");
                    self.listener = None;
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }
}

/// A listener on both channels.
async fn listen(pool: &PgPool) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.ignore_pool_close_event(true);
    listener.listen_all([EVENTS, CONNECTIONS]).await?;
    Ok(listener)
}
