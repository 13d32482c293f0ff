//! Looking for what must never be written down: the EPS's logs captured in memory (JSON and
//! text, as `eps serve` writes them), everything its store holds as text, and a search for card
//! numbers in any of it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

use crate::app::TestApp;
use crate::backend::Backend;

/// The logs of everything that runs on this thread, as JSON lines and as text, at `trace` for
/// the EPS's crates and `debug` for the rest, until dropped.
///
/// The subscriber is this thread's default: with the current-thread runtime of `#[tokio::test]`
/// every task of the server and the simulators runs (and logs) here. (The EPS runs only argon2
/// on other threads, and that logs nothing.)
pub struct LogCapture {
    json: Buffer,
    text: Buffer,
    _guard: DefaultGuard,
}

/// A shared in-memory log sink.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl LogCapture {
    /// Starts capturing on this thread.
    pub fn start() -> Self {
        let (json, text) = (Buffer::default(), Buffer::default());
        let filter = EnvFilter::new("debug,eps_api=trace,eps_core=trace,opi_backend=trace");
        let subscriber = tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_ansi(false)
                    .with_writer(json.clone()),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(text.clone()),
            );
        Self {
            json,
            text,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// The JSON lines so far.
    pub fn json(&self) -> String {
        self.json.text()
    }

    /// The text lines so far.
    pub fn text(&self) -> String {
        self.text.text()
    }
}

impl TestApp {
    /// Everything the store holds, as text. SQLite: the bytes of every file of the data
    /// directory (the database with its `-wal` and `-shm`), read as (lossy) UTF-8. PostgreSQL:
    /// every row of every table of the test's schema, as JSON text.
    pub async fn stored_text(&self) -> String {
        match (&self.backend, self.schema()) {
            (Backend::Postgres(url), Some(schema)) => postgres_rows(url, schema).await,
            _ => files_text(&self.config.data_dir),
        }
    }
}

fn files_text(dir: &std::path::Path) -> String {
    let mut text = String::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir).expect("data directory") {
        let path = entry.expect("directory entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("readable file");
            text.push_str(&String::from_utf8_lossy(&bytes));
            text.push('\n');
            files += 1;
        }
    }
    assert!(files > 0, "no file in {}", dir.display());
    text
}

async fn postgres_rows(url: &str, schema: &str) -> String {
    use sqlx::Row;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("PostgreSQL");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(&pool)
    .await
    .expect("tables");
    assert!(!tables.is_empty(), "no table in schema {schema}");
    let mut text = String::new();
    for table in tables {
        // Names from the catalogue, quoted; no input of anyone's.
        let query = format!("SELECT row_to_json(t)::text AS row FROM \"{schema}\".\"{table}\" t");
        for row in sqlx::query(sqlx::AssertSqlSafe(query))
            .fetch_all(&pool)
            .await
            .expect("rows")
        {
            let row: String = row.get("row");
            text.push_str(&table);
            text.push_str(": ");
            text.push_str(&row);
            text.push('\n');
        }
    }
    pool.close().await;
    text
}

/// Where any of `numbers` appears in `text` (whole, or in groups of four separated by a space
/// or a dash): one line per hit, naming `source` and showing the context.
pub fn card_number_hits(source: &str, text: &str, numbers: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for number in numbers {
        let grouped = |sep: &str| {
            number
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join(sep)
        };
        for form in [number.to_string(), grouped(" "), grouped("-")] {
            for (at, _) in text.match_indices(&form) {
                let start = text.floor_char_boundary(at.saturating_sub(80));
                let end = text.ceil_char_boundary((at + form.len() + 80).min(text.len()));
                hits.push(format!("{source}: …{}…", &text[start..end]));
            }
        }
    }
    hits
}
