//! The store written once over an [`Engine`]: every trait of [`crate::store`] in plain SQL that
//! both SQLite and PostgreSQL accept, with rows encoded by [`super::codec`].
//!
//! Writes that emit events run in one engine transaction and call [`events::write`] last, so the
//! event counter row is locked only for the tail of the transaction (and always after any other
//! row lock, which rules out lock-order deadlocks between writers).

use async_trait::async_trait;

use super::engine::{Engine, Statement};
use super::{Signals, Store};
use crate::error::Result;

mod audit;
mod connections;
mod country;
mod events;
mod idempotency;
mod issuer;
mod pois;
mod records;
mod trace;
mod transactions;

/// The durable store over one SQL engine: [`super::sqlite::SqliteStore`] or
/// [`super::postgres::PostgresStore`].
#[derive(Debug, Clone)]
pub struct SqlStore<E> {
    engine: E,
}

impl<E> SqlStore<E> {
    /// A store over `engine`, whose schema is already migrated.
    pub(crate) fn new(engine: E) -> Self {
        Self { engine }
    }

    /// The engine underneath.
    pub(crate) fn engine(&self) -> &E {
        &self.engine
    }
}

#[async_trait]
impl<E: Engine> Store for SqlStore<E> {
    fn backend(&self) -> &'static str {
        E::NAME
    }

    async fn ping(&self) -> Result<()> {
        // A read, so on SQLite it does not queue behind the writers.
        let _: Option<(i64,)> = self
            .engine
            .fetch_optional(Statement::new("SELECT CAST(1 AS BIGINT)"))
            .await?;
        Ok(())
    }

    async fn listen(&self) -> Result<Option<Box<dyn Signals>>> {
        self.engine.listen().await
    }
}
