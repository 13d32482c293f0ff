//! The SQLite engine: the embedded default, one file in WAL mode.
//!
//! `synchronous = FULL`: in WAL mode that syncs the log on every commit, so a payment state that
//! was reported is still there after a power cut (NORMAL only survives a process crash, and may
//! lose the last commits on power loss). Writes go through one in-process writer
//! ([`group`]): sessions queue in order instead of polling the busy handler, and sessions queued
//! behind each other share one `BEGIN IMMEDIATE` transaction and its one sync (group commit),
//! each under its own savepoint. The busy timeout still covers another process holding the file.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use self::group::{GroupWriter, WriteSession};
use super::engine::{self, Engine, Row, Session, Statement};
use super::sql::SqlStore;
use crate::error::{Error, Result};

/// The migrations of the SQLite schema, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Pooled connections to a database file (readers run in parallel under WAL).
const MAX_CONNECTIONS: u32 = 8;

/// The SQLite store.
pub type SqliteStore = SqlStore<SqliteEngine>;

mod group;

/// A pool of connections to one SQLite database and the writer its write sessions queue on.
#[derive(Debug, Clone)]
pub struct SqliteEngine {
    pool: SqlitePool,
    writer: Arc<GroupWriter>,
}

impl SqlStore<SqliteEngine> {
    /// Opens (creating the file and its directory if missing) the database at `url`
    /// (`sqlite://path/to/eps.db`, or `sqlite::memory:`) and runs migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|err| Error::Storage(format!("invalid SQLite URL {url:?}: {err}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if let Some(dir) = options.get_filename().parent()
            && !in_memory
            && !dir.as_os_str().is_empty()
        {
            // Start-up only: a blocking call is fine before the pool exists.
            std::fs::create_dir_all(dir).map_err(|err| {
                Error::Storage(format!("cannot create directory {}: {err}", dir.display()))
            })?;
        }
        // An in-memory database lives in its one connection.
        let max = if in_memory { 1 } else { MAX_CONNECTIONS };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self::new(SqliteEngine {
            pool: pool.clone(),
            writer: Arc::new(GroupWriter::new(pool.clone())),
        }))
    }

    /// Closes every connection (waiting for those in use), checkpointing the WAL.
    pub async fn close(&self) {
        self.engine().pool.close().await;
    }
}

/// A write transaction: a savepoint in the writer's current batch.
pub(crate) struct SqliteSession {
    inner: WriteSession,
}

#[async_trait]
impl Engine for SqliteEngine {
    type Tx = SqliteSession;
    // The writer runs one session at a time: no other writer runs until this one ends.
    const LOCK_ROW: &'static str = "";
    const NAME: &'static str = "sqlite";

    async fn begin(&self) -> Result<SqliteSession> {
        Ok(SqliteSession {
            inner: self.writer.begin().await?,
        })
    }

    async fn execute(&self, statement: Statement) -> Result<u64> {
        let mut session = self.begin().await?;
        let affected = session.execute(statement).await?;
        session.commit().await?;
        Ok(affected)
    }

    async fn fetch_all<R: Row>(&self, statement: Statement) -> Result<Vec<R>> {
        engine::fetch_all(&self.pool, statement).await
    }

    async fn fetch_optional<R: Row>(&self, statement: Statement) -> Result<Option<R>> {
        engine::fetch_optional(&self.pool, statement).await
    }
}

#[async_trait]
impl Session for SqliteSession {
    async fn execute(&mut self, statement: Statement) -> Result<u64> {
        self.inner.execute(statement).await
    }

    async fn fetch_optional<R: Row>(&mut self, statement: Statement) -> Result<Option<R>> {
        self.inner.fetch_optional(statement).await
    }

    async fn fetch_all<R: Row>(&mut self, statement: Statement) -> Result<Vec<R>> {
        self.inner.fetch_all(statement).await
    }

    async fn commit(self) -> Result<()> {
        self.inner.commit().await
    }

    async fn rollback(self) -> Result<()> {
        self.inner.rollback().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::SiteGrant;
    use crate::ids::ClientId;
    use crate::store::ClientStore;

    /// Clients registered before site grants existed (migration 0003) reach no site.
    #[tokio::test]
    async fn clients_from_before_grants_get_no_site() {
        let dir = tempfile_dir();
        let url = format!("sqlite://{}", dir.join("eps.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        let mut before = sqlx::migrate::Migrator {
            migrations: MIGRATOR.migrations.clone(),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        before.migrations = before
            .migrations
            .iter()
            .filter(|m| m.version < 3)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        before.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO clients (client_id, name, secret_hash, scopes, created_at) \
             VALUES ('pos-1', 'pos-1', 'h', 'read write', 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = SqliteStore::open(&url).await.unwrap();
        let client = store
            .client(&ClientId::parse("pos-1").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(client.sites, SiteGrant::none());
        store.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("eps-core-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
