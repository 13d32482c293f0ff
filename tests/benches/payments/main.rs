//! Payments through the EPS: N site systems (HTTP clients, each with its token and connection)
//! pay with zero think time on M simulated terminals (`opi-sim` over loopback TCP), each payment
//! `POST /payments` with `Prefer: wait` and an `Idempotency-Key`, answered once approved. In the
//! same run, the same simulators are driven directly by the OPI driver (`OpiTerminal`), with no
//! EPS in between: the ratio of the two latencies is what the EPS adds (HTTP, OAuth2, the
//! durable store, journal and events).
//!
//! `cargo bench -p eps-e2e --bench payments`; `EPS_BENCH_PAYMENTS` (default 2000) per
//! configuration, `EPS_BENCH_RUNS` as `N:M,N:M` (default `1:1,4:4,8:4`),
//! `EPS_BENCH_DATABASE_URL` for PostgreSQL (a schema of its own, dropped after) instead of
//! SQLite. When several site systems share a terminal, one refused as busy waits for the running
//! payment's end (`GET` with `Prefer: wait`) and tries again.
//!
//! `cargo bench -p eps-e2e --bench payments -- --durable` runs issue 10's payment goals
//! instead (P1, P3, P5: see `durable.rs`) and prints them as `figure` lines for `scripts/bench`.

mod durable;
mod harness;
mod seed;

use harness::{Db, Eps, Figures, charged, direct, ms, start_sims, stop_sims};

/// One measured configuration.
struct Run {
    site_systems: usize,
    terminals: usize,
    payments: usize,
}

/// Payments through the EPS on a fresh store.
async fn through_the_eps(run: &Run) -> Figures {
    let db = Db::fresh().await;
    let sims = start_sims(run.terminals).await;
    let eps = Eps::start(&db, &sims, run.site_systems).await;
    eps.warm_up(20).await;
    let figures = eps.measure(run.payments as u64).await.figures();
    assert_eq!(
        charged(&sims),
        run.payments + 20 * run.site_systems,
        "one charge per payment"
    );
    eps.stop().await;
    db.drop().await;
    stop_sims(sims).await;
    figures
}

fn runs() -> Vec<Run> {
    let payments = std::env::var("EPS_BENCH_PAYMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let spec = std::env::var("EPS_BENCH_RUNS").unwrap_or_else(|_| "1:1,4:4,8:4".to_owned());
    spec.split(',')
        .filter_map(|pair| pair.split_once(':'))
        .filter_map(|(n, m)| Some((n.trim().parse().ok()?, m.trim().parse().ok()?)))
        .map(|(site_systems, terminals)| Run {
            site_systems,
            terminals,
            payments,
        })
        .collect()
}

fn main() {
    eps_api::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::args().any(|a| a == "--durable") {
        runtime.block_on(durable::run());
        return;
    }
    runtime.block_on(async {
        let store = if std::env::var("EPS_BENCH_DATABASE_URL").is_ok() {
            "postgres"
        } else {
            "sqlite"
        };
        println!(
            "store={store} workers={}",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        for run in runs() {
            let eps = through_the_eps(&run).await;
            let opi = direct(run.terminals, run.payments, 20).await.figures();
            println!(
                "N={:<2} M={:<2} payments={:<5} EPS: {:>6.0} payments/s p50={:>6.2}ms p99={:>6.2}ms busy={:<5} | direct OPI: {:>6.0}/s p50={:>5.2}ms p99={:>5.2}ms | added cost p50 x{:.1} p99 x{:.1}",
                run.site_systems,
                run.terminals,
                run.payments,
                eps.payments_per_sec,
                ms(eps.p50),
                ms(eps.p99),
                eps.busy,
                opi.payments_per_sec,
                ms(opi.p50),
                ms(opi.p99),
                eps.p50.as_secs_f64() / opi.p50.as_secs_f64(),
                eps.p99.as_secs_f64() / opi.p99.as_secs_f64(),
            );
        }
    });
}
