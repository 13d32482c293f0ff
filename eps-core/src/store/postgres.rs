//! The PostgreSQL engine, through a pool, and the listener that hears other nodes' writes
//! (`listen`). The row locking below is what concurrent writers, of one node or several, rely on.
//!
//! Transactions run at READ COMMITTED. What makes concurrent writers safe is row locking, not the
//! isolation level: the unique key of `idempotency_keys` picks one creator, the version predicate of
//! an update picks one updater, and the `event_log` row lock orders event ids by commit.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Postgres, Transaction};

use super::Signals;
use super::engine::{self, Engine, Row, Session, Statement};
use super::listen::PgSignals;
use super::sql::SqlStore;
use crate::error::{Error, Result};

/// The migrations of the PostgreSQL schema, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Pooled connections of a node.
const MAX_CONNECTIONS: u32 = 16;

/// Pooled connections of a store in its own schema (a test's): small, as many run at once.
const SCHEMA_MAX_CONNECTIONS: u32 = 4;

/// The PostgreSQL store.
pub type PostgresStore = SqlStore<PgEngine>;

/// A pool of connections to one PostgreSQL database (and schema).
#[derive(Debug, Clone)]
pub struct PgEngine {
    pool: PgPool,
    schema: Option<String>,
}

impl SqlStore<PgEngine> {
    /// Connects to the database at `url` (`postgres://…`) and runs migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let options = connect_options(url)?;
        Self::connect(options, None, MAX_CONNECTIONS).await
    }

    /// Connects to the database at `url` with every pooled connection using `schema` (created if
    /// missing; lowercase letters, digits and `_`), and runs migrations there.
    ///
    /// Test suites give each test its own schema this way; [`Self::drop_schema`] removes it.
    pub async fn open_in_schema(url: &str, schema: &str) -> Result<Self> {
        check_schema_name(schema)?;
        let options = connect_options(url)?;
        let mut admin = PgConnection::connect_with(&options).await?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
        )))
        .execute(&mut admin)
        .await?;
        admin.close().await?;
        let options = options.options([("search_path", schema)]);
        Self::connect(options, Some(schema.to_owned()), SCHEMA_MAX_CONNECTIONS).await
    }

    /// The schema this store was opened in, if [`Self::open_in_schema`] chose one.
    pub fn schema(&self) -> Option<&str> {
        self.engine().schema.as_deref()
    }

    /// Drops the store's schema with everything in it and closes the pool.
    ///
    /// Fails for a store not opened with [`Self::open_in_schema`].
    pub async fn drop_schema(&self) -> Result<()> {
        let schema = self.schema().ok_or_else(|| {
            Error::InvalidState("this store was not opened in its own schema".into())
        })?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
        )))
        .execute(&self.engine().pool)
        .await?;
        self.close().await;
        Ok(())
    }

    /// Closes every connection, waiting for those in use.
    pub async fn close(&self) {
        self.engine().pool.close().await;
    }

    async fn connect(options: PgConnectOptions, schema: Option<String>, max: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self::new(PgEngine { pool, schema }))
    }
}

fn connect_options(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|err| {
        // The URL may carry a password: name the problem, not the URL.
        Error::Storage(format!("invalid PostgreSQL URL: {err}"))
    })
}

fn check_schema_name(schema: &str) -> Result<()> {
    let valid = (1..=63).contains(&schema.len())
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && !schema.starts_with("pg_");
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidState(format!(
            "schema name {schema:?} must be 1-63 lowercase letters, digits or '_', \
             not start with a digit or 'pg_'"
        )))
    }
}

/// A write transaction.
pub(crate) struct PgSession {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl Engine for PgEngine {
    type Tx = PgSession;
    const LOCK_ROW: &'static str = " FOR UPDATE";
    const NAME: &'static str = "postgres";

    async fn begin(&self) -> Result<PgSession> {
        Ok(PgSession {
            tx: self.pool.begin().await?,
        })
    }

    async fn execute(&self, statement: Statement) -> Result<u64> {
        Ok(engine::execute(&self.pool, statement)
            .await?
            .rows_affected())
    }

    async fn fetch_all<R: Row>(&self, statement: Statement) -> Result<Vec<R>> {
        engine::fetch_all(&self.pool, statement).await
    }

    async fn fetch_optional<R: Row>(&self, statement: Statement) -> Result<Option<R>> {
        engine::fetch_optional(&self.pool, statement).await
    }

    async fn listen(&self) -> Result<Option<Box<dyn Signals>>> {
        let options = self.pool.connect_options();
        Ok(Some(Box::new(PgSignals::start(&options).await?)))
    }
}

#[async_trait]
impl Session for PgSession {
    async fn execute(&mut self, statement: Statement) -> Result<u64> {
        Ok(engine::execute(&mut *self.tx, statement)
            .await?
            .rows_affected())
    }

    async fn fetch_optional<R: Row>(&mut self, statement: Statement) -> Result<Option<R>> {
        engine::fetch_optional(&mut *self.tx, statement).await
    }

    async fn fetch_all<R: Row>(&mut self, statement: Statement) -> Result<Vec<R>> {
        engine::fetch_all(&mut *self.tx, statement).await
    }

    async fn commit(self) -> Result<()> {
        let started = tokio::time::Instant::now();
        let committed = self.tx.commit().await;
        metrics::histogram!("eps_store_commit_seconds", "store" => "postgres")
            .record(started.elapsed().as_secs_f64());
        Ok(committed?)
    }

    async fn rollback(self) -> Result<()> {
        Ok(self.tx.rollback().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::check_schema_name;

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema_name("eps_test_01").is_ok());
        for bad in [
            "",
            "1abc",
            "pg_temp",
            "Upper",
            "a-b",
            "a\"b",
            &"a".repeat(64),
        ] {
            assert!(check_schema_name(bad).is_err(), "{bad:?}");
        }
    }
}
