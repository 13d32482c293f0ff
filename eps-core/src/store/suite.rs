//! The store test suite, run against both engines.
//!
//! Each case is an `async fn(Arc<dyn Store>)` in a submodule; [`suite!`] turns every case into one
//! `#[tokio::test]` per engine. SQLite cases get a fresh file in a fresh directory under the temp
//! dir; PostgreSQL cases get a fresh schema in `EPS_TEST_DATABASE_URL`, dropped at the end. Without
//! that variable the PostgreSQL cases pass and a notice that PostgreSQL did not run is printed
//! once (visible even when every test passes), unless `EPS_REQUIRE_POSTGRES=1`.

use std::path::PathBuf;
use std::sync::Arc;

use uuid::Uuid;

use super::{ClientStore, ConnectionStore, PostgresStore, SqliteStore, Store};

mod admin;
mod connections;
mod events;
mod fixtures;
mod follow_ups;
mod nodes;
mod payments;
mod records;
mod trace;

use admin::*;
use connections::*;
use events::*;
use follow_ups::*;
use nodes::*;
use payments::*;
use records::*;
use trace::*;

/// A store under test and what to remove afterwards.
struct Harness {
    store: Arc<dyn Store>,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(Arc<SqliteStore>, PathBuf),
    Postgres(Arc<PostgresStore>),
}

impl Harness {
    /// Runs `case` on the store, cleans up (even when it failed), then reports its outcome.
    async fn run<F, Fut>(self, case: F)
    where
        F: FnOnce(Arc<dyn Store>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let outcome = tokio::spawn(case(self.store.clone())).await;
        self.finish().await;
        if let Err(failure) = outcome {
            std::panic::resume_unwind(failure.into_panic());
        }
    }

    async fn finish(self) {
        drop(self.store);
        match self.cleanup {
            Cleanup::Sqlite(store, dir) => {
                store.close().await;
                std::fs::remove_dir_all(&dir).unwrap();
            }
            Cleanup::Postgres(store) => store.drop_schema().await.unwrap(),
        }
    }
}

/// A fresh directory under the temp dir (not created: the store must create it).
fn fresh_dir() -> PathBuf {
    std::env::temp_dir().join(format!("eps-store-test-{}", Uuid::new_v4().simple()))
}

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("eps.db").display())
}

async fn sqlite() -> Harness {
    let dir = fresh_dir();
    let store = Arc::new(SqliteStore::open(&sqlite_url(&dir)).await.unwrap());
    Harness {
        store: store.clone(),
        cleanup: Cleanup::Sqlite(store, dir),
    }
}

/// The PostgreSQL test database, or `None` (with a note) when it is not configured.
fn postgres_url() -> Option<String> {
    match std::env::var("EPS_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("EPS_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "EPS_REQUIRE_POSTGRES=1 but EPS_TEST_DATABASE_URL is not set"
            );
            postgres_skipped_notice();
            None
        }
    }
}

/// Says once per test process, on the real stderr (past the test harness's capture, so it shows
/// even when every test passes), that the PostgreSQL cases did not run.
fn postgres_skipped_notice() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "NOTICE (eps-core store suite): PostgreSQL NOT RUN: EPS_TEST_DATABASE_URL is not set, \
             so the store tests ran on SQLite only"
        );
    });
}

async fn postgres() -> Option<Harness> {
    let url = postgres_url()?;
    let schema = format!("eps_store_{}", Uuid::new_v4().simple());
    let store = Arc::new(PostgresStore::open_in_schema(&url, &schema).await.unwrap());
    Some(Harness {
        store: store.clone(),
        cleanup: Cleanup::Postgres(store),
    })
}

/// One test per engine for each case.
macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let harness = super::sqlite().await;
                    harness.run(super::$case).await;
                }
            )*
        }

        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(harness) = super::postgres().await else { return };
                    harness.run(super::$case).await;
                }
            )*
        }
    };
}

suite!(
    search_spans_sites_filters_and_pages,
    audit_entries_append_and_filter,
    connections_round_trip,
    connection_lookup_by_transmission,
    connections_refresh_delete_and_purge,
    heartbeats_are_written_in_batches_and_never_backwards,
    start_up_grace_extends_only_live_connections,
    clients_round_trip,
    backend_answers,
    transactions_round_trip,
    idempotent_creates_store_once,
    failed_creates_leave_nothing_behind,
    concurrent_identical_creates_insert_once,
    idempotency_keys_round_trip,
    updates_need_the_next_version,
    transaction_listing_filters_and_pages,
    unresolved_transactions_oldest_first,
    journal_oldest_first,
    journal_steps_commit_with_their_change,
    follow_ups_and_lookup_by_request,
    concurrent_follow_ups_are_judged_one_at_a_time,
    follow_up_keys_are_claimed_before_anything_is_judged,
    follow_ups_settle_their_original_in_the_same_commit,
    the_newest_unresolved_transaction_blocks_its_terminal,
    receipts_round_trip,
    prompts_round_trip_and_close_once,
    reconciliations_round_trip,
    events_keep_commit_order_under_concurrent_writers,
    events_after_filters_by_site,
    purge_keeps_a_contiguous_tail,
    known_pois_are_announced_once,
    country_settings_are_kept_per_site,
    trace_batches_read_back_in_order,
    trace_writer_writes_everything_queued,
    the_first_issuer_key_is_kept_until_replaced,
    writes_are_signalled_to_listeners,
);

#[tokio::test]
async fn sqlite_store_keeps_its_data_across_a_restart() {
    let dir = fresh_dir();
    let url = sqlite_url(&dir);
    let store = SqliteStore::open(&url).await.unwrap();
    let (connection, client) = (fixtures::full_connection(), fixtures::client("pos-1"));
    store.insert_connection(&connection).await.unwrap();
    store.upsert_client(&client).await.unwrap();
    store.close().await;
    drop(store);

    let reopened = super::open(&url).await.unwrap();
    assert_eq!(reopened.backend(), "sqlite");
    assert_eq!(
        reopened.connection(&connection.id).await.unwrap(),
        Some(connection)
    );
    assert_eq!(reopened.clients().await.unwrap(), vec![client]);
    drop(reopened);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn open_refuses_unknown_schemes() {
    let err = super::open("mysql://localhost/eps").await.err().unwrap();
    assert!(err.to_string().contains("mysql"), "{err}");
    assert!(super::open("no scheme").await.is_err());
}

#[tokio::test]
async fn open_dispatches_postgres_urls() {
    let Some(url) = postgres_url() else { return };
    let Some(harness) = postgres().await else {
        return;
    };
    let Cleanup::Postgres(schema_store) = &harness.cleanup else {
        unreachable!()
    };
    let schema = schema_store.schema().unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}options[search_path]={schema}");
    let store = super::open(&url).await.unwrap();
    assert_eq!(store.backend(), "postgres");
    store.ping().await.unwrap();
    let client = fixtures::client("pos-1");
    store.upsert_client(&client).await.unwrap();
    assert_eq!(harness.store.clients().await.unwrap(), vec![client]);
    drop(store);
    harness.finish().await;
}

#[tokio::test]
async fn sqlite_in_memory_store_works() {
    let store = super::open("sqlite::memory:").await.unwrap();
    let client = fixtures::client("pos-1");
    store.upsert_client(&client).await.unwrap();
    assert_eq!(store.client(&client.client_id).await.unwrap(), Some(client));
    let events = store
        .append_events(&[fixtures::event(None, 1)])
        .await
        .unwrap();
    assert_eq!(events[0].id, crate::ids::EventId::new(1));
}
