//! What each SQL engine provides to the shared store code: run a statement, fetch rows, and open a
//! write transaction. Parameters are bound at run time; no query needs a database at build time.

use std::borrow::Cow;

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Arguments, AssertSqlSafe, Database, Encode, Executor, FromRow, IntoArguments, Type};

use crate::error::{Error, Result};

/// One bound parameter; the store only ever binds these three kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// A BIGINT (or NULL).
    Int(Option<i64>),
    /// A TEXT (or NULL).
    Text(Option<String>),
    /// A BOOLEAN.
    Bool(bool),
}

/// SQL text with `$1`, `$2`, … placeholders (both engines accept them) and its parameters.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    sql: Cow<'static, str>,
    params: Vec<Value>,
}

impl Statement {
    /// A statement from fixed SQL text.
    pub(crate) fn new(sql: &'static str) -> Self {
        Self {
            sql: Cow::Borrowed(sql),
            params: Vec::new(),
        }
    }

    /// Binds the next parameter, a BIGINT.
    pub(crate) fn int(self, value: i64) -> Self {
        self.bind(Value::Int(Some(value)))
    }

    /// Binds the next parameter, a nullable BIGINT.
    pub(crate) fn opt_int(self, value: Option<i64>) -> Self {
        self.bind(Value::Int(value))
    }

    /// Binds the next parameter, a TEXT.
    pub(crate) fn text(self, value: impl Into<String>) -> Self {
        self.bind(Value::Text(Some(value.into())))
    }

    /// Binds the next parameter, a nullable TEXT.
    pub(crate) fn opt_text(self, value: Option<impl Into<String>>) -> Self {
        self.bind(Value::Text(value.map(Into::into)))
    }

    /// Binds the next parameter, a BOOLEAN.
    pub(crate) fn bool(self, value: bool) -> Self {
        self.bind(Value::Bool(value))
    }

    /// Appends fixed SQL text.
    pub(crate) fn push(mut self, fragment: &'static str) -> Self {
        self.sql.to_mut().push_str(fragment);
        self
    }

    /// Appends SQL text assembled from fixed fragments and placeholders (never from input).
    pub(crate) fn push_assembled(mut self, text: &str) -> Self {
        self.sql.to_mut().push_str(text);
        self
    }

    /// Appends `fragment`, whose `$?` marks stand for `value`, bound as the next parameter.
    pub(crate) fn clause(mut self, fragment: &'static str, value: Value) -> Self {
        self.params.push(value);
        let placeholder = format!("${}", self.params.len());
        self.sql
            .to_mut()
            .push_str(&fragment.replace("$?", &placeholder));
        self
    }

    /// How many parameters are bound so far (the next placeholder is one more).
    pub(crate) fn len(&self) -> usize {
        self.params.len()
    }

    fn bind(mut self, value: Value) -> Self {
        self.params.push(value);
        self
    }
}

/// A row type both engines can decode (derive [`sqlx::FromRow`] on a struct of plain columns).
pub(crate) trait Row:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}

impl<T> Row for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}

/// An open write transaction; dropped without [`Session::commit`] it rolls back.
#[async_trait]
pub(crate) trait Session: Send + Sized {
    /// Runs a statement; returns the rows it affected.
    async fn execute(&mut self, statement: Statement) -> Result<u64>;
    /// Runs a query; returns its first row, if any.
    async fn fetch_optional<R: Row>(&mut self, statement: Statement) -> Result<Option<R>>;
    /// Runs a query; returns every row.
    async fn fetch_all<R: Row>(&mut self, statement: Statement) -> Result<Vec<R>>;
    /// Makes the writes durable.
    async fn commit(self) -> Result<()>;
    /// Discards the writes.
    async fn rollback(self) -> Result<()>;

    /// Runs a query that must return a row.
    async fn fetch_one<R: Row>(&mut self, statement: Statement) -> Result<R> {
        self.fetch_optional(statement)
            .await?
            .ok_or_else(|| Error::Storage("a query that returns a row returned none".into()))
    }
}

/// One database engine behind the shared store code.
#[async_trait]
pub(crate) trait Engine: Send + Sync + 'static {
    /// A write transaction of this engine.
    type Tx: Session;
    /// `"sqlite"` or `"postgres"`.
    const NAME: &'static str;
    /// Appended to a `SELECT` of one row inside a write transaction to lock that row until the
    /// transaction ends (empty where the write transaction already excludes other writers).
    const LOCK_ROW: &'static str;

    /// Opens a write transaction; writers that would conflict wait for each other.
    async fn begin(&self) -> Result<Self::Tx>;
    /// Runs one statement on its own (autocommit).
    async fn execute(&self, statement: Statement) -> Result<u64>;
    /// Runs a query on its own; returns every row.
    async fn fetch_all<R: Row>(&self, statement: Statement) -> Result<Vec<R>>;
    /// Runs a query on its own; returns its first row, if any.
    async fn fetch_optional<R: Row>(&self, statement: Statement) -> Result<Option<R>>;
    /// Listens for other nodes' writes; `None` for an engine that serves one node.
    async fn listen(&self) -> Result<Option<Box<dyn super::Signals>>> {
        Ok(None)
    }
}

/// The arguments of `params` for database `DB`.
fn arguments<DB>(params: Vec<Value>) -> Result<DB::Arguments>
where
    DB: Database,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
{
    let mut args = DB::Arguments::default();
    for value in params {
        match value {
            Value::Int(v) => args.add(v),
            Value::Text(v) => args.add(v),
            Value::Bool(v) => args.add(v),
        }
        .map_err(|err| Error::Storage(format!("cannot bind a parameter: {err}")))?;
    }
    Ok(args)
}

/// Runs `statement` on `executor` (a pool or a transaction of database `DB`).
pub(crate) async fn execute<'e, DB, X>(executor: X, statement: Statement) -> Result<DB::QueryResult>
where
    DB: Database,
    X: Executor<'e, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
{
    let args = arguments::<DB>(statement.params)?;
    Ok(sqlx::query_with(AssertSqlSafe(statement.sql), args)
        .execute(executor)
        .await?)
}

/// Runs `statement` on `executor`; returns every row.
pub(crate) async fn fetch_all<'e, DB, X, R>(executor: X, statement: Statement) -> Result<Vec<R>>
where
    DB: Database,
    X: Executor<'e, Database = DB>,
    R: for<'r> FromRow<'r, DB::Row> + Send + Unpin,
    DB::Arguments: IntoArguments<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
{
    let args = arguments::<DB>(statement.params)?;
    Ok(sqlx::query_as_with(AssertSqlSafe(statement.sql), args)
        .fetch_all(executor)
        .await?)
}

/// Runs `statement` on `executor`; returns its first row, if any.
pub(crate) async fn fetch_optional<'e, DB, X, R>(
    executor: X,
    statement: Statement,
) -> Result<Option<R>>
where
    DB: Database,
    X: Executor<'e, Database = DB>,
    R: for<'r> FromRow<'r, DB::Row> + Send + Unpin,
    DB::Arguments: IntoArguments<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
{
    let args = arguments::<DB>(statement.params)?;
    Ok(sqlx::query_as_with(AssertSqlSafe(statement.sql), args)
        .fetch_optional(executor)
        .await?)
}
