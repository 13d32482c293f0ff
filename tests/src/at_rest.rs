//! What a test's EPS keeps at rest, to assert that a secret is not in it: on SQLite every byte of
//! the data directory (the database file, its write-ahead log and shared memory), on PostgreSQL
//! every row of every table of the test's schema, as text.

use sqlx::{Connection, Row};

use crate::app::TestApp;
use crate::backend::Backend;

/// Everything `app` has stored, as lossy UTF-8 text (binary pages included on SQLite).
pub async fn stored_text(app: &TestApp) -> String {
    match &app.backend {
        Backend::Sqlite => files_text(app.data_dir()),
        Backend::Postgres(url) => {
            let schema = app.schema().expect("a PostgreSQL test has a schema");
            rows_text(url, schema).await
        }
    }
}

/// Asserts that `needle` is nowhere in what `app` has stored.
pub async fn assert_not_stored(app: &TestApp, needle: &str) {
    let stored = stored_text(app).await;
    assert!(
        !stored.is_empty(),
        "nothing read from the store: the check would prove nothing"
    );
    assert!(
        !stored.contains(needle),
        "{needle:?} is stored at rest ({})",
        app.backend.name()
    );
}

fn files_text(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).expect("data directory") {
        let path = entry.expect("directory entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("a stored file");
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}

async fn rows_text(url: &str, schema: &str) -> String {
    let mut db = sqlx::PgConnection::connect(url).await.expect("PostgreSQL");
    let tables: Vec<String> = sqlx::query(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
    )
    .bind(schema)
    .fetch_all(&mut db)
    .await
    .expect("tables")
    .iter()
    .map(|row| row.get::<String, _>(0))
    .collect();
    let mut text = String::new();
    for table in tables {
        // Identifiers come from the catalogue, quoted as identifiers.
        let query = format!(
            "SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM \"{schema}\".\"{table}\" t"
        );
        let rows: String = sqlx::query_scalar(sqlx::AssertSqlSafe(query))
            .fetch_one(&mut db)
            .await
            .expect("rows as text");
        text.push_str(&table);
        text.push('\n');
        text.push_str(&rows);
    }
    db.close().await.expect("close");
    text
}
