//! What a payment costs the store: one guarded create with its event, then two versioned updates
//! with theirs (pending → inProgress → approved), each a durable commit.
//!
//! `cargo bench -p eps-core --bench store_writes` measures SQLite in a temp file; with
//! `EPS_BENCH_DATABASE_URL=postgres://…` it measures PostgreSQL in a throw-away schema as well.
//! Prints the mean latency of one payment for a single writer and the throughput of 8 writers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eps_core::event::{EventKind, NewEvent};
use eps_core::idempotency::IdempotencyRecord;
use eps_core::ids::{
    ClientId, IdempotencyKey, MerchantId, PoiId, TerminalId, TerminalRequestId, TransactionId,
};
use eps_core::money::{Amount, Currency};
use eps_core::store::{PostgresStore, SqliteStore, Store};
use eps_core::transaction::{TransactionKind, TransactionRecord, TransactionState};
use time::macros::datetime;

const SINGLE: usize = 200;
const WRITERS: usize = 8;
const PER_WRITER: usize = 50;

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("eps-bench-{}", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}", dir.join("eps.db").display());
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.expect("open SQLite"));
    measure("sqlite", sqlite).await;
    std::fs::remove_dir_all(&dir).expect("remove the bench directory");

    if let Ok(url) = std::env::var("EPS_BENCH_DATABASE_URL") {
        let schema = format!("eps_bench_{}", uuid::Uuid::new_v4().simple());
        let store = Arc::new(
            PostgresStore::open_in_schema(&url, &schema)
                .await
                .expect("open PostgreSQL"),
        );
        measure("postgres", store.clone()).await;
        store.drop_schema().await.expect("drop the bench schema");
    }
}

async fn measure(name: &str, store: Arc<dyn Store>) {
    let started = now();
    for _ in 0..SINGLE {
        payment(&store).await;
    }
    let single = started.elapsed();
    println!(
        "{name}: one writer: {:.2} ms per payment (3 commits, 3 events; {SINGLE} payments)",
        millis(single) / SINGLE as f64
    );

    let started = now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..PER_WRITER {
                    payment(&store).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    let total = started.elapsed();
    let payments = (WRITERS * PER_WRITER) as f64;
    println!(
        "{name}: {WRITERS} writers: {:.0} payments/s ({:.0} commits/s)",
        payments / total.as_secs_f64(),
        3.0 * payments / total.as_secs_f64()
    );
}

/// One payment's writes.
async fn payment(store: &Arc<dyn Store>) {
    let at = datetime!(2026-01-01 00:00 UTC);
    let merchant = MerchantId::parse("bench-site").expect("merchant");
    let client = ClientId::parse("bench-pos").expect("client");
    let mut record = TransactionRecord {
        id: TransactionId::generate(),
        kind: TransactionKind::Payment,
        state: TransactionState::Pending,
        merchant_id: merchant.clone(),
        poi_id: PoiId::derive(&merchant, "pointOfService", "001"),
        terminal_id: TerminalId::parse("t1").expect("terminal"),
        client_id: client.clone(),
        connection_id: None,
        amount: Amount::from_minor(1_234, Currency::parse("EUR").expect("EUR")).expect("amount"),
        approved_amount: None,
        refunded_amount: None,
        original_id: None,
        terminal_request_id: TerminalRequestId::parse("1").expect("request id"),
        reference: None,
        authorisation: None,
        result_code: None,
        reason: None,
        unknown_since: None,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    let key = IdempotencyRecord {
        client_id: client,
        key: IdempotencyKey::parse(&record.id.to_string()).expect("key"),
        fingerprint: "f".repeat(64),
        resource: Some(format!("transaction:{}", record.id)),
        outcome: None,
        created_at: at,
        expires_at: at,
    };
    store
        .create_transaction(&record, Some(&key), &[event(&record)], &[])
        .await
        .expect("create");
    for state in [TransactionState::InProgress, TransactionState::Approved] {
        record.state = state;
        record.version += 1;
        store
            .update_transaction(&record, &[event(&record)], &[])
            .await
            .expect("update");
    }
}

fn event(record: &TransactionRecord) -> NewEvent {
    NewEvent {
        merchant_id: Some(record.merchant_id.clone()),
        at: record.updated_at,
        kind: EventKind::TransactionUpdated {
            transaction_id: record.id,
            poi_id: record.poi_id,
            transaction_kind: record.kind,
            state: record.state,
        },
    }
}

#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
fn now() -> Instant {
    Instant::now()
}

fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1_000.0
}
