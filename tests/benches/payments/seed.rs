//! Straight SQL against the store under test, beside the EPS rather than through it: the cost of
//! one synced commit on the same database, and a store filled with a million past payments.
//!
//! Seeding copies one real approved payment the EPS made (its transaction row, journal steps,
//! receipts, events and idempotency key) `count` times in bulk `INSERT … SELECT`s over a
//! number series, each copy with ids of its own and 30 s older than the next, so the rows have
//! the sizes and shapes the EPS writes and the event counter moves past the copied events.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Executor};
use tokio::time::Instant;

use crate::harness::{Db, percentile};

/// Rows the seeding wrote, per table.
pub(crate) struct Seeded {
    /// Transactions.
    pub(crate) transactions: u64,
    /// Journal steps.
    pub(crate) journal: u64,
    /// Receipts.
    pub(crate) receipts: u64,
    /// Events.
    pub(crate) events: u64,
    /// How long it took.
    pub(crate) took: Duration,
}

/// A connection to the store under test.
enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

async fn connect(db: &Db, synced: bool) -> Conn {
    match &db.postgres {
        Some((url, store)) => {
            let schema = store.schema().unwrap().to_owned();
            let options = PgConnectOptions::from_str(url)
                .unwrap()
                .options([("search_path", schema.as_str())]);
            Conn::Postgres(PgConnection::connect_with(&options).await.unwrap())
        }
        None => {
            let options = SqliteConnectOptions::new()
                .filename(db.sqlite_file())
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(if synced {
                    SqliteSynchronous::Full
                } else {
                    SqliteSynchronous::Off
                })
                .busy_timeout(Duration::from_secs(30));
            Conn::Sqlite(SqliteConnection::connect_with(&options).await.unwrap())
        }
    }
}

/// The median of `count` commits of one small row each, on the store's database with the
/// store's durability (SQLite: WAL, `synchronous = FULL`; PostgreSQL: a plain commit), in a
/// table of their own.
pub(crate) async fn commit_p50(db: &Db, count: usize) -> Duration {
    let mut latencies = Vec::with_capacity(count);
    match connect(db, true).await {
        Conn::Sqlite(mut c) => {
            c.execute("CREATE TABLE IF NOT EXISTS bench_commit (id INTEGER PRIMARY KEY, at BIGINT NOT NULL)")
                .await
                .unwrap();
            for n in 0..count {
                let started = Instant::now();
                sqlx::query("INSERT INTO bench_commit (at) VALUES (?1)")
                    .bind(n as i64)
                    .execute(&mut c)
                    .await
                    .unwrap();
                latencies.push(started.elapsed());
            }
        }
        Conn::Postgres(mut c) => {
            c.execute("CREATE TABLE IF NOT EXISTS bench_commit (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL)")
                .await
                .unwrap();
            for n in 0..count {
                let started = Instant::now();
                sqlx::query("INSERT INTO bench_commit (at) VALUES ($1)")
                    .bind(n as i64)
                    .execute(&mut c)
                    .await
                    .unwrap();
                latencies.push(started.elapsed());
            }
        }
    }
    latencies.sort();
    percentile(&latencies, 0.5)
}

/// SQLite: a number series 1..=?1 as `n(i)`, then the insert.
const SQLITE_SEED: [&str; 5] = [
    "INSERT INTO transactions (id, kind, state, merchant_id, poi_id, terminal_id, client_id,
        connection_id, amount_minor, currency, approved_minor, approved_currency, original_id,
        terminal_request_id, reference, authorisation, result_code, reason, created_at,
        updated_at, version, refunded_minor, unknown_since)
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     SELECT printf('00000000-0000-7000-8000-%012d', n.i), t.kind, t.state, t.merchant_id,
        t.poi_id, t.terminal_id, t.client_id, t.connection_id, t.amount_minor, t.currency,
        t.approved_minor, t.approved_currency, NULL, printf('9%013d', n.i), t.reference,
        t.authorisation, t.result_code, t.reason, t.created_at - (?1 - n.i + 1) * 30000,
        t.updated_at - (?1 - n.i + 1) * 30000, t.version, t.refunded_minor, t.unknown_since
     FROM n CROSS JOIN (SELECT * FROM transactions WHERE id = ?2) t",
    "INSERT INTO journal (subject_id, at, step, detail)
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     SELECT printf('00000000-0000-7000-8000-%012d', n.i), j.at - (?1 - n.i + 1) * 30000,
        j.step, j.detail
     FROM n CROSS JOIN (SELECT * FROM journal WHERE subject_id = ?2 ORDER BY seq) j",
    "INSERT INTO receipts (id, merchant_id, poi_id, transaction_id, reconciliation_id,
        receipt_copy, device_target, lines, created_at)
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     SELECT printf('00000000-0000-7000-9%03d-%012d', r.k, n.i), r.merchant_id, r.poi_id,
        printf('00000000-0000-7000-8000-%012d', n.i), NULL, r.receipt_copy, r.device_target,
        r.lines, r.created_at - (?1 - n.i + 1) * 30000
     FROM n CROSS JOIN (SELECT *, ROW_NUMBER() OVER (ORDER BY created_at, id) AS k
        FROM receipts WHERE transaction_id = ?2) r",
    "INSERT INTO events (id, merchant_id, at, kind, payload)
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     SELECT (SELECT last_id FROM event_log) + (n.i - 1) * e.c + e.k, e.merchant_id,
        e.at - (?1 - n.i + 1) * 30000, e.kind,
        replace(e.payload, ?2, printf('00000000-0000-7000-8000-%012d', n.i))
     FROM n CROSS JOIN (SELECT *, ROW_NUMBER() OVER (ORDER BY id) AS k, COUNT(*) OVER () AS c
        FROM events WHERE instr(payload, ?2) > 0) e",
    "INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, resource, outcome,
        created_at, expires_at)
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     SELECT k.client_id, printf('seed-%d', n.i), k.fingerprint,
        'transaction:' || printf('00000000-0000-7000-8000-%012d', n.i), k.outcome,
        k.created_at - (?1 - n.i + 1) * 30000, k.expires_at - (?1 - n.i + 1) * 30000
     FROM n CROSS JOIN (SELECT * FROM idempotency_keys WHERE resource = 'transaction:' || ?2) k",
];

/// PostgreSQL: the same over `generate_series`.
const POSTGRES_SEED: [&str; 5] = [
    "INSERT INTO transactions (id, kind, state, merchant_id, poi_id, terminal_id, client_id,
        connection_id, amount_minor, currency, approved_minor, approved_currency, original_id,
        terminal_request_id, reference, authorisation, result_code, reason, created_at,
        updated_at, version, refunded_minor, unknown_since)
     SELECT '00000000-0000-7000-8000-' || lpad(n.i::text, 12, '0'), t.kind, t.state,
        t.merchant_id, t.poi_id, t.terminal_id, t.client_id, t.connection_id, t.amount_minor,
        t.currency, t.approved_minor, t.approved_currency, NULL,
        '9' || lpad(n.i::text, 13, '0'), t.reference, t.authorisation, t.result_code, t.reason,
        t.created_at - ($1 - n.i + 1) * 30000, t.updated_at - ($1 - n.i + 1) * 30000,
        t.version, t.refunded_minor, t.unknown_since
     FROM generate_series(1, $1) AS n(i) CROSS JOIN (SELECT * FROM transactions WHERE id = $2) t",
    "INSERT INTO journal (subject_id, at, step, detail)
     SELECT '00000000-0000-7000-8000-' || lpad(n.i::text, 12, '0'),
        j.at - ($1 - n.i + 1) * 30000, j.step, j.detail
     FROM generate_series(1, $1) AS n(i)
     CROSS JOIN (SELECT * FROM journal WHERE subject_id = $2) j ORDER BY n.i, j.seq",
    "INSERT INTO receipts (id, merchant_id, poi_id, transaction_id, reconciliation_id,
        receipt_copy, device_target, lines, created_at)
     SELECT '00000000-0000-7000-9' || lpad(r.k::text, 3, '0') || '-' || lpad(n.i::text, 12, '0'),
        r.merchant_id, r.poi_id, '00000000-0000-7000-8000-' || lpad(n.i::text, 12, '0'), NULL,
        r.receipt_copy, r.device_target, r.lines, r.created_at - ($1 - n.i + 1) * 30000
     FROM generate_series(1, $1) AS n(i)
     CROSS JOIN (SELECT *, ROW_NUMBER() OVER (ORDER BY created_at, id) AS k
        FROM receipts WHERE transaction_id = $2) r",
    "INSERT INTO events (id, merchant_id, at, kind, payload)
     SELECT (SELECT last_id FROM event_log) + (n.i - 1) * e.c + e.k, e.merchant_id,
        e.at - ($1 - n.i + 1) * 30000, e.kind,
        replace(e.payload, $2, '00000000-0000-7000-8000-' || lpad(n.i::text, 12, '0'))
     FROM generate_series(1, $1) AS n(i)
     CROSS JOIN (SELECT *, ROW_NUMBER() OVER (ORDER BY id) AS k, COUNT(*) OVER () AS c
        FROM events WHERE strpos(payload, $2) > 0) e ORDER BY 1",
    "INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, resource, outcome,
        created_at, expires_at)
     SELECT k.client_id, 'seed-' || n.i, k.fingerprint,
        'transaction:00000000-0000-7000-8000-' || lpad(n.i::text, 12, '0'), k.outcome,
        k.created_at - ($1 - n.i + 1) * 30000, k.expires_at - ($1 - n.i + 1) * 30000
     FROM generate_series(1, $1) AS n(i)
     CROSS JOIN (SELECT * FROM idempotency_keys WHERE resource = 'transaction:' || $2) k",
];

/// The newest approved payment, which the seeding copies.
const TEMPLATE: &str = "SELECT id FROM transactions WHERE state = 'approved' AND kind = 'payment' \
     ORDER BY created_at DESC LIMIT 1";

/// The event counter moved past the copied events.
const ADVANCE: &str = "UPDATE event_log SET last_id = (SELECT MAX(id) FROM events)";

/// Copies the newest approved payment `count` times (with no EPS running on the store).
pub(crate) async fn seed(db: &Db, count: u64) -> Seeded {
    let started = Instant::now();
    let count = count as i64;
    let mut rows = [0u64; 5];
    match connect(db, false).await {
        Conn::Sqlite(mut c) => {
            c.execute("PRAGMA cache_size = -262144").await.unwrap();
            let (template,): (String,) = sqlx::query_as(TEMPLATE).fetch_one(&mut c).await.unwrap();
            let mut tx = c.begin().await.unwrap();
            for (statement, rows) in SQLITE_SEED.iter().zip(&mut rows) {
                *rows = sqlx::query(*statement)
                    .bind(count)
                    .bind(&template)
                    .execute(&mut *tx)
                    .await
                    .unwrap()
                    .rows_affected();
            }
            tx.execute(ADVANCE).await.unwrap();
            tx.commit().await.unwrap();
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
        }
        Conn::Postgres(mut c) => {
            let (template,): (String,) = sqlx::query_as(TEMPLATE).fetch_one(&mut c).await.unwrap();
            let mut tx = c.begin().await.unwrap();
            for (statement, rows) in POSTGRES_SEED.iter().zip(&mut rows) {
                *rows = sqlx::query(*statement)
                    .bind(count)
                    .bind(&template)
                    .execute(&mut *tx)
                    .await
                    .unwrap()
                    .rows_affected();
            }
            tx.execute(ADVANCE).await.unwrap();
            tx.commit().await.unwrap();
            // What autovacuum would do soon after such a load: statistics for the planner.
            c.execute("ANALYZE").await.unwrap();
        }
    }
    Seeded {
        transactions: rows[0],
        journal: rows[1],
        receipts: rows[2],
        events: rows[3],
        took: started.elapsed(),
    }
}

/// The reads on the payment and request paths (as `eps-core/src/store/sql/*.rs` issues them,
/// with sample values), whose plans are checked on the seeded store.
const HOT_READS: [(&str, &str); 16] = [
    (
        "transaction by id",
        "SELECT * FROM transactions WHERE id = '00000000-0000-7000-8000-000000000042'",
    ),
    (
        "unresolved on terminal",
        "SELECT * FROM transactions WHERE state IN ('pending', 'inProgress', 'unknown') AND terminal_id = 'lane-1' ORDER BY created_at DESC, id DESC LIMIT 1",
    ),
    (
        "unresolved (start-up)",
        "SELECT * FROM transactions WHERE state IN ('pending', 'inProgress', 'unknown') ORDER BY created_at, id",
    ),
    (
        "transaction by request",
        "SELECT * FROM transactions WHERE terminal_id = 'lane-1' AND terminal_request_id = '90000000000042' ORDER BY created_at DESC, id DESC LIMIT 1",
    ),
    (
        "follow-ups",
        "SELECT * FROM transactions WHERE original_id = '00000000-0000-7000-8000-000000000042' ORDER BY created_at, id",
    ),
    (
        "journal",
        "SELECT subject_id, at, step, detail FROM journal WHERE subject_id = '00000000-0000-7000-8000-000000000042' ORDER BY at, seq",
    ),
    (
        "idempotency key",
        "SELECT * FROM idempotency_keys WHERE client_id = 'pos' AND idem_key = 'seed-42'",
    ),
    (
        "connection",
        "SELECT * FROM connections WHERE id = '00000000-0000-7000-8000-000000000042'",
    ),
    (
        "events after (site)",
        "SELECT * FROM events WHERE merchant_id = '1234567890' AND id > 42 ORDER BY id LIMIT 100",
    ),
    (
        "events after (all)",
        "SELECT * FROM events WHERE id > 42 ORDER BY id LIMIT 100",
    ),
    (
        "receipts of a transaction",
        "SELECT * FROM receipts WHERE transaction_id = '00000000-0000-7000-8000-000000000042' ORDER BY created_at, id",
    ),
    (
        "open prompts",
        "SELECT * FROM prompts WHERE poi_id = 'x' AND state = 'open' ORDER BY created_at, id",
    ),
    (
        "site page",
        "SELECT * FROM transactions WHERE merchant_id = '1234567890' ORDER BY created_at DESC, id DESC LIMIT 50",
    ),
    (
        "site page, next",
        "SELECT * FROM transactions WHERE merchant_id = '1234567890' AND (created_at, id) < (SELECT created_at, id FROM transactions WHERE id = '00000000-0000-7000-8000-000000000042') ORDER BY created_at DESC, id DESC LIMIT 50",
    ),
    (
        "search, all sites",
        "SELECT * FROM transactions WHERE 1 = 1 ORDER BY created_at DESC, id DESC LIMIT 50",
    ),
    (
        "search, unknown oldest first",
        "SELECT * FROM transactions WHERE 1 = 1 AND state = 'unknown' ORDER BY created_at, id LIMIT 50",
    ),
];

/// The tables the seeding fills.
const LARGE: [&str; 5] = [
    "transactions",
    "journal",
    "receipts",
    "events",
    "idempotency_keys",
];

/// Prints the plan of each hot read (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on PostgreSQL)
/// as `plan|name|plan` lines; returns the names of those that scan a whole table.
pub(crate) async fn plans(db: &Db) -> Vec<&'static str> {
    let mut scans = Vec::new();
    let mut conn = connect(db, true).await;
    for (name, sql) in HOT_READS {
        let lines: Vec<String> = match &mut conn {
            Conn::Sqlite(c) => {
                let rows: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                        .fetch_all(&mut *c)
                        .await
                        .unwrap();
                rows.into_iter().map(|r| r.3).collect()
            }
            Conn::Postgres(c) => {
                let rows: Vec<(String,)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")))
                        .fetch_all(&mut *c)
                        .await
                        .unwrap();
                rows.into_iter().map(|r| r.0.trim().to_owned()).collect()
            }
        };
        let plan = lines.join("; ");
        // SQLite's "SCAN t" without an index, PostgreSQL's "Seq Scan" of a large table (the
        // planner rightly reads the few rows of connections or prompts straight).
        let scan = lines.iter().any(|l| {
            (l.starts_with("SCAN ") && !l.contains("USING"))
                || LARGE
                    .iter()
                    .any(|t| l.contains(&format!("Seq Scan on {t} ")))
        });
        if scan {
            scans.push(name);
        }
        println!("plan|{name}|{plan}");
    }
    scans
}
