//! Group commit for SQLite: writers that queue behind each other share one synced commit.
//!
//! SQLite has one writer at a time and each commit syncs the WAL (about a millisecond here), so
//! sixty-four terminals committing one after another pay sixty-four syncs. Instead, a write
//! session runs as a `SAVEPOINT` inside a batch transaction that stays open while other sessions
//! are queued for the writer: each session's statements run alone and in order, as before; the
//! session that ends with nobody queued behind it commits the batch once, and every session in
//! it learns together that its writes are durable. A session that fails or is dropped rolls back
//! to its savepoint and fails alone. Nobody hears "done" before the sync: `commit` returns only
//! once the batch that holds its writes is on disk.
//!
//! One writer alone (no queue) commits at once, exactly as without batching.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::sqlite::SqlitePool;
use sqlx::{Sqlite, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::error::{Error, Result};
use crate::store::engine::{self, Statement};

/// At most this many sessions share one commit, so the first of a long queue waits bounded.
const MAX_BATCH: usize = 64;

/// The writer of one SQLite database: the batch it builds and who is queued for it.
#[derive(Debug)]
pub(crate) struct GroupWriter {
    pool: SqlitePool,
    batch: Arc<Mutex<Batch>>,
    queued: Arc<AtomicUsize>,
}

/// The open batch transaction and the sessions whose released writes it holds.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    tx: Option<Transaction<'static, Sqlite>>,
    /// Batches committed so far.
    commits: u64,
    joined: Vec<oneshot::Sender<std::result::Result<(), String>>>,
    /// A session's savepoint is open (set while a session runs; still set if it was dropped).
    open_savepoint: bool,
}

/// The name of every session's savepoint; sessions never nest, so one name does.
const SAVEPOINT: &str = "SAVEPOINT eps_write";
const RELEASE: &str = "RELEASE eps_write";
const ROLLBACK_TO: &str = "ROLLBACK TO eps_write";

impl GroupWriter {
    /// A writer over `pool`.
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            batch: Arc::new(Mutex::new(Batch::default())),
            queued: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Waits for the writer and opens a session (a savepoint in the batch transaction).
    pub(crate) async fn begin(&self) -> Result<WriteSession> {
        let queue = Queued::join(self);
        let batch = Arc::clone(&self.batch).lock_owned().await;
        queue.leave();
        let mut session = WriteSession {
            batch: Some(batch),
            writer: self.handle(),
        };
        // On failure the dropped session leaves the batch to the others (or ends it).
        session.open().await?;
        Ok(session)
    }

    fn handle(&self) -> WriterHandle {
        WriterHandle {
            pool: self.pool.clone(),
            batch: Arc::clone(&self.batch),
            queued: Arc::clone(&self.queued),
        }
    }
}

/// What a session needs of its writer once it runs on its own.
#[derive(Debug, Clone)]
struct WriterHandle {
    pool: SqlitePool,
    batch: Arc<Mutex<Batch>>,
    queued: Arc<AtomicUsize>,
}

impl WriterHandle {
    fn nobody_queued(&self) -> bool {
        self.queued.load(Ordering::SeqCst) == 0
    }
}

/// Counts a session waiting for the writer; a waiter that gives up (its future dropped) makes
/// sure a batch left open for it is still committed.
struct Queued {
    handle: Option<WriterHandle>,
}

impl Queued {
    fn join(writer: &GroupWriter) -> Self {
        writer.queued.fetch_add(1, Ordering::SeqCst);
        Self {
            handle: Some(writer.handle()),
        }
    }

    fn leave(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.queued.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        handle.queued.fetch_sub(1, Ordering::SeqCst);
        // The session ahead may have left the batch open for this waiter.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut batch = Arc::clone(&handle.batch).lock_owned().await;
                settle(&mut batch, &handle).await;
            });
        }
    }
}

/// A write session: its statements run in the batch transaction under its own savepoint.
pub(crate) struct WriteSession {
    batch: Option<OwnedMutexGuard<Batch>>,
    writer: WriterHandle,
}

impl std::fmt::Debug for WriteSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteSession").finish_non_exhaustive()
    }
}

impl WriteSession {
    /// Opens the batch transaction if none is open, then this session's savepoint.
    async fn open(&mut self) -> Result<()> {
        let batch = self.batch_mut()?;
        if batch.open_savepoint {
            // Cannot happen: a dropped session's savepoint is rolled back before the lock passes.
            return Err(Error::Storage("a write savepoint was left open".into()));
        }
        if batch.tx.is_none() {
            let pool = self.writer.pool.clone();
            let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            self.batch_mut()?.tx = Some(tx);
        }
        self.raw(Statement::new(SAVEPOINT)).await?;
        self.batch_mut()?.open_savepoint = true;
        Ok(())
    }

    fn batch_mut(&mut self) -> Result<&mut Batch> {
        self.batch
            .as_deref_mut()
            .ok_or_else(|| Error::Storage("the write session has ended".into()))
    }

    fn tx(&mut self) -> Result<&mut Transaction<'static, Sqlite>> {
        self.batch_mut()?
            .tx
            .as_mut()
            .ok_or_else(|| Error::Storage("the write batch has ended".into()))
    }

    async fn raw(&mut self, statement: Statement) -> Result<u64> {
        let tx = self.tx()?;
        Ok(engine::execute(&mut **tx, statement).await?.rows_affected())
    }

    /// Runs a statement; returns the rows it affected.
    pub(crate) async fn execute(&mut self, statement: Statement) -> Result<u64> {
        self.raw(statement).await
    }

    /// Runs a query; returns its first row, if any.
    pub(crate) async fn fetch_optional<R>(&mut self, statement: Statement) -> Result<Option<R>>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        let tx = self.tx()?;
        engine::fetch_optional(&mut **tx, statement).await
    }

    /// Runs a query; returns every row.
    pub(crate) async fn fetch_all<R>(&mut self, statement: Statement) -> Result<Vec<R>>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        let tx = self.tx()?;
        engine::fetch_all(&mut **tx, statement).await
    }

    /// Keeps this session's writes in the batch and returns once the batch is durable.
    pub(crate) async fn commit(mut self) -> Result<()> {
        let released = self.raw(Statement::new(RELEASE)).await;
        let mut batch = self
            .batch
            .take()
            .ok_or_else(|| Error::Storage("the write session has ended".into()))?;
        if let Err(err) = released {
            // The savepoint is in an unknown state: the whole batch goes.
            batch.open_savepoint = false;
            fail_batch(&mut batch, &err.to_string()).await;
            return Err(err);
        }
        batch.open_savepoint = false;
        let (durable, on_durable) = oneshot::channel();
        batch.joined.push(durable);
        // The batch ends in a task of its own: a caller that stops waiting (its request was
        // dropped) cannot cut a commit that other sessions wait on.
        let writer = self.writer.clone();
        tokio::spawn(async move {
            if batch.joined.len() >= MAX_BATCH {
                commit_batch(&mut batch).await;
            } else {
                settle(&mut batch, &writer).await;
            }
        });
        match on_durable.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(Error::Storage(message)),
            Err(_) => Err(Error::Storage(
                "the write batch ended without committing".into(),
            )),
        }
    }

    /// Discards this session's writes; the batch goes on for the others.
    pub(crate) async fn rollback(mut self) -> Result<()> {
        let mut batch = self
            .batch
            .take()
            .ok_or_else(|| Error::Storage("the write session has ended".into()))?;
        let writer = self.writer.clone();
        // As in `commit`: nobody's cancellation cuts the batch short.
        let _ = tokio::spawn(async move { abandon(&mut batch, &writer).await }).await;
        Ok(())
    }
}

impl Drop for WriteSession {
    fn drop(&mut self) {
        // Dropped mid-write (an error returned early, or the future was cancelled): its
        // savepoint is rolled back before the writer passes to anyone else.
        let Some(mut batch) = self.batch.take() else {
            return;
        };
        let writer = self.writer.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move { abandon(&mut batch, &writer).await });
            }
            Err(_) => {
                // No runtime left: dropping the transaction rolls the whole batch back.
                batch.open_savepoint = false;
                batch.tx = None;
                let joined = std::mem::take(&mut batch.joined);
                for waiter in joined {
                    let _ = waiter.send(Err("the runtime stopped before the commit".into()));
                }
            }
        }
    }
}

/// Rolls back an open savepoint of a session that ends without its writes, then settles.
async fn abandon(batch: &mut Batch, writer: &WriterHandle) {
    if batch.open_savepoint {
        batch.open_savepoint = false;
        let undone = match batch.tx.as_mut() {
            Some(tx) => {
                let rolled = engine::execute(&mut **tx, Statement::new(ROLLBACK_TO)).await;
                match rolled {
                    Ok(_) => engine::execute(&mut **tx, Statement::new(RELEASE))
                        .await
                        .map(|_| ()),
                    Err(err) => Err(err),
                }
            }
            None => Ok(()),
        };
        if let Err(err) = undone {
            fail_batch(batch, &format!("cannot undo a failed write: {err}")).await;
            return;
        }
    }
    settle(batch, writer).await;
}

/// Ends the batch when nobody is queued for the writer: commits it when sessions joined it,
/// else rolls the (empty) transaction back.
async fn settle(batch: &mut Batch, writer: &WriterHandle) {
    if !writer.nobody_queued() {
        return;
    }
    if batch.joined.is_empty() {
        if let Some(tx) = batch.tx.take() {
            let _ = tx.rollback().await;
        }
        return;
    }
    commit_batch(batch).await;
}

/// Commits the batch (one sync) and tells every session in it.
async fn commit_batch(batch: &mut Batch) {
    let joined = std::mem::take(&mut batch.joined);
    let Some(tx) = batch.tx.take() else {
        for waiter in joined {
            let _ = waiter.send(Err("the write batch was lost".into()));
        }
        return;
    };
    let started = tokio::time::Instant::now();
    let committed = tx.commit().await;
    batch.commits += 1;
    metrics::histogram!("eps_store_commit_seconds", "store" => "sqlite")
        .record(started.elapsed().as_secs_f64());
    metrics::histogram!("eps_store_commit_batch_size", "store" => "sqlite")
        .record(joined.len() as f64);
    let outcome = committed.map_err(|err| format!("commit failed: {err}"));
    for waiter in joined {
        let _ = waiter.send(outcome.clone());
    }
}

/// Rolls the whole batch back and fails every session in it.
async fn fail_batch(batch: &mut Batch, message: &str) {
    if let Some(tx) = batch.tx.take() {
        let _ = tx.rollback().await;
    }
    for waiter in std::mem::take(&mut batch.joined) {
        let _ = waiter.send(Err(format!("the write batch failed: {message}")));
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    use super::*;

    /// A writer over a fresh database file with one table `t(id INTEGER PRIMARY KEY)`.
    async fn writer() -> (GroupWriter, SqlitePool, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("eps-group-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let options =
            SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.join("g.db").display()))
                .unwrap()
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .execute(&pool)
            .await
            .unwrap();
        (GroupWriter::new(pool.clone()), pool, dir)
    }

    async fn ids(pool: &SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT id FROM t ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    async fn insert(writer: &GroupWriter, id: i64) -> Result<()> {
        let mut session = writer.begin().await?;
        session
            .execute(Statement::new("INSERT INTO t (id) VALUES ($1)").int(id))
            .await?;
        // Another writer's turn comes in between, so sessions really queue.
        tokio::task::yield_now().await;
        session.commit().await
    }

    /// Concurrent writers all land, and a duplicate key fails only its own session.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn queued_writers_share_commits_and_fail_alone() {
        let (writer, pool, dir) = writer().await;
        let writer = Arc::new(writer);
        let mut tasks = Vec::new();
        for id in 0..200 {
            let writer = Arc::clone(&writer);
            // 7 twice: one of them must fail, and only it.
            let id = if id == 100 { 7 } else { id };
            tasks.push(tokio::spawn(
                async move { insert(&writer, id).await.is_ok() },
            ));
        }
        let mut failed = 0;
        for task in tasks {
            if !task.await.unwrap() {
                failed += 1;
            }
        }
        assert_eq!(failed, 1);
        let commits = writer.batch.lock().await.commits;
        assert!(commits < 100, "200 queued writers took {commits} commits");
        let stored = ids(&pool).await;
        assert_eq!(stored.len(), 199);
        assert_eq!(stored, (0..200).filter(|id| *id != 100).collect::<Vec<_>>());
        pool.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A session dropped mid-write (error path or cancellation) leaves no trace, and the
    /// session before it that waits in the same batch is still committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_session_is_rolled_back_alone() {
        let (writer, pool, dir) = writer().await;
        let writer = Arc::new(writer);
        let mut first = writer.begin().await.unwrap();
        first
            .execute(Statement::new("INSERT INTO t (id) VALUES (1)"))
            .await
            .unwrap();
        // A second session queues behind the first, so the first's commit leaves the batch open.
        let second = {
            let writer = Arc::clone(&writer);
            tokio::spawn(async move {
                let mut session = writer.begin().await.unwrap();
                session
                    .execute(Statement::new("INSERT INTO t (id) VALUES (2)"))
                    .await
                    .unwrap();
                drop(session);
            })
        };
        while writer.queued.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        first.commit().await.unwrap();
        second.await.unwrap();
        assert_eq!(ids(&pool).await, vec![1]);
        // The writer goes on.
        insert(&writer, 3).await.unwrap();
        assert_eq!(ids(&pool).await, vec![1, 3]);
        pool.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A rolled-back session's writes are never visible, and the writer goes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rolled_back_session_keeps_the_batch() {
        let (writer, pool, dir) = writer().await;
        let mut session = writer.begin().await.unwrap();
        session
            .execute(Statement::new("INSERT INTO t (id) VALUES (5)"))
            .await
            .unwrap();
        assert!(ids(&pool).await.is_empty());
        session.rollback().await.unwrap();
        insert(&writer, 6).await.unwrap();
        assert_eq!(ids(&pool).await, vec![6]);
        pool.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }
}
