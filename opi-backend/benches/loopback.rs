//! Full payments per second, driver ↔ simulator over loopback TCP: each payment is a channel-0
//! request, a display and two receipts over channel 1 (each answered), and the answer; with the
//! simulator's default of one channel-1 connection per DeviceRequest and with one shared
//! connection per payment, side by side.
//!
//! `cargo bench -p opi-backend --bench loopback` (set `OPI_BENCH_PAYMENTS` to change the count).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use eps_core::ids::{TerminalId, TerminalRequestId};
use eps_core::money::{Amount, Currency};
use eps_core::prompt::PromptAnswer;
use eps_core::terminal::{
    CardOperation, DeviceOutput, InputRequest, OperationObserver, SharedTerminal, TerminalOutcome,
    TerminalRequest, TerminalResult, TerminalStatus,
};
use opi_backend::profile::{ProfileRef, TerminalProfile};
use opi_backend::sim::{CallbackMode, SimConfig, SimServer};
use opi_backend::{OpiBackend, OpiTerminalConfig};
use tokio::time::Instant;

/// Counts callbacks, as a domain observer would store them.
struct Counting;

#[async_trait]
impl OperationObserver for Counting {
    async fn before_send(&self) -> Result<(), String> {
        Ok(())
    }
    async fn sent(&self) {}
    async fn output(&self, output: DeviceOutput) {
        std::hint::black_box(output);
    }
    async fn input(&self, _request: InputRequest) -> Option<PromptAnswer> {
        None
    }
    async fn card_acquired(&self) {}
}

async fn setup(
    terminals: usize,
    callbacks: CallbackMode,
) -> (Vec<SimServer>, OpiBackend, Vec<SharedTerminal>) {
    let mut sims = Vec::new();
    let mut configs = Vec::new();
    let mut profile = TerminalProfile::default();
    profile.timers.health_check = Duration::ZERO;
    for index in 0..terminals {
        let config = SimConfig {
            callbacks,
            ..SimConfig::default()
        };
        let sim = SimServer::start("127.0.0.1:0".parse().unwrap(), config)
            .await
            .unwrap();
        let mut config = OpiTerminalConfig::new(
            TerminalId::parse(&format!("bench-{index}")).unwrap(),
            sim.channel0_address().to_string(),
            "127.0.0.1:0".parse().unwrap(),
            format!("{}", index + 1),
        );
        config.profile = ProfileRef::Inline(Box::new(profile.clone()));
        configs.push(config);
        sims.push(sim);
    }
    let ids: Vec<_> = configs.iter().map(|c| c.id.clone()).collect();
    let backend = OpiBackend::start(configs).await.unwrap();
    let mut handles = Vec::new();
    for (sim, id) in sims.iter().zip(&ids) {
        sim.set_callback(backend.callback_address(id).unwrap().to_string());
        let terminal = backend.terminal(id).unwrap();
        terminal
            .status()
            .wait_for(|s| *s == TerminalStatus::Online)
            .await
            .unwrap();
        handles.push(terminal);
    }
    (sims, backend, handles)
}

async fn pay(terminal: &SharedTerminal, n: u64, observer: Arc<Counting>) -> Duration {
    let request = TerminalRequest {
        request_id: TerminalRequestId::parse(&format!("{n}")).unwrap(),
        operation: CardOperation::Payment {
            amount: Amount::from_minor(1000 + (n as i64 % 50) * 100, Currency::EUR).unwrap(),
        },
    };
    let started = Instant::now();
    let outcome = terminal.card_operation(request, observer).await;
    let took = started.elapsed();
    match outcome {
        TerminalOutcome::Answered(answer) if answer.result == TerminalResult::Success => took,
        other => panic!("payment {n} failed: {other:?}"),
    }
}

async fn run(terminals: usize, per_terminal: u64, callbacks: CallbackMode) {
    let (sims, backend, handles) = setup(terminals, callbacks).await;
    let observer = Arc::new(Counting);
    // Warm-up: connections, allocator, caches.
    for (index, terminal) in handles.iter().enumerate() {
        for n in 0..50 {
            pay(
                terminal,
                1_000_000 + index as u64 * 1000 + n,
                observer.clone(),
            )
            .await;
        }
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (index, terminal) in handles.iter().cloned().enumerate() {
        let observer = observer.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_terminal as usize);
            for n in 0..per_terminal {
                latencies.push(
                    pay(
                        &terminal,
                        2_000_000 + index as u64 * 100_000 + n,
                        observer.clone(),
                    )
                    .await,
                );
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let total = latencies.len();
    let pick = |q: f64| latencies[((total as f64 * q) as usize).min(total - 1)];
    println!(
        "callbacks={callbacks:<11?} terminals={terminals:<2} payments={total:<6} elapsed={:>7.3}s  {:>8.0} payments/s  p50={:>6.0}µs p99={:>6.0}µs",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        pick(0.50).as_secs_f64() * 1e6,
        pick(0.99).as_secs_f64() * 1e6,
    );
    let recorded: usize = sims.iter().map(|s| s.ledger().entries().len()).sum();
    assert_eq!(recorded, total + 50 * terminals);
    backend.shutdown().await;
    for sim in sims {
        sim.shutdown().await;
    }
}

fn main() {
    let payments: u64 = std::env::var("OPI_BENCH_PAYMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // The simulator's default (one channel-1 connection per DeviceRequest, the protocol's
        // rule) beside one shared connection per payment, in one run.
        for callbacks in [CallbackMode::PerRequest, CallbackMode::Shared] {
            run(1, payments, callbacks).await;
        }
        for callbacks in [CallbackMode::PerRequest, CallbackMode::Shared] {
            run(4, payments / 4, callbacks).await;
        }
    });
}
