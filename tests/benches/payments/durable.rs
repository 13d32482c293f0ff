//! Issue 10's payment goals ("the fast durable path"), measured side by side in one run on the
//! store `EPS_BENCH_DATABASE_URL` names (SQLite without it):
//!
//! - P1: payment p50 with 1 site system on 1 terminal, against the direct OPI p50 on one
//!   terminal plus 3 × the p50 of one synced commit on the same database (goal ≤ ×1.0).
//! - P3: payments/s with 64 site systems on 64 terminals, against direct OPI payments/s on 64
//!   terminals (goal ≥ ×0.5).
//! - P5: payment p50 (1:1) on a store holding 1,000,000 past payments with their journal,
//!   receipts, events and idempotency keys, against an empty store (goal ≤ ×1.2).
//!
//! P1 and P5 run in alternating rounds (empty-store EPS, seeded-store EPS, direct OPI, commits)
//! so the machine's noise falls on all of them alike. Each goal is printed as a `row|…` line
//! that `scripts/bench` puts in its table; the rest is progress.
//!
//! Environment: `EPS_BENCH_PAYMENTS` (1:1 payments per side, default 1000),
//! `EPS_BENCH_WIDE_PAYMENTS` (P3 payments per side, default 2000), `EPS_BENCH_WIDE` (terminals and
//! site systems for P3, default 64), `EPS_BENCH_SEED` (past payments for P5, default 1000000),
//! `EPS_BENCH_ROUNDS` (default 4), `EPS_BENCH_COMMITS` (synced commits timed, default 400).

use std::time::Duration;

use crate::harness::{Db, Eps, Sample, charged, direct, ms, start_sims, stop_sims};
use crate::seed::{commit_p50, plans, seed};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One line of the table: goal, what is compared, the figures, the ratio and the target.
fn row(goal: &str, what: &str, figures: String, ratio: f64, target: &str) {
    let met = match target.split_once(' ') {
        Some(("≤", t)) => ratio <= t.trim_start_matches('×').parse::<f64>().unwrap_or(0.0),
        Some(("≥", t)) => ratio >= t.trim_start_matches('×').parse::<f64>().unwrap_or(0.0),
        _ => false,
    };
    let verdict = if met { "met" } else { "not met" };
    println!("row|{goal}|{what}|{figures}|×{ratio:.2}|{target} ({verdict})");
}

/// Runs P1, P5 and P3 and prints their rows.
pub(crate) async fn run() {
    let payments = env("EPS_BENCH_PAYMENTS", 1000);
    let wide_payments = env("EPS_BENCH_WIDE_PAYMENTS", 2000);
    let wide = env("EPS_BENCH_WIDE", 64) as usize;
    let seeded_count = env("EPS_BENCH_SEED", 1_000_000);
    let rounds = env("EPS_BENCH_ROUNDS", 4).max(1);
    let commits = env("EPS_BENCH_COMMITS", 400).max(1) as usize;
    let per_round = (payments / rounds).max(1);

    // The empty store (P1, P5's reference) and the store to seed, each with its EPS and terminal.
    let empty_db = Db::fresh().await;
    let empty_sims = start_sims(1).await;
    let empty = Eps::start(&empty_db, &empty_sims, 1).await;
    empty.warm_up(20).await;
    let full_db = Db::fresh().await;
    let full_sims = start_sims(1).await;
    let template = Eps::start(&full_db, &full_sims, 1).await;
    template.warm_up(5).await;
    template.stop().await;
    eprintln!("seeding {seeded_count} past payments");
    let seeded = seed(&full_db, seeded_count).await;
    eprintln!(
        "seeded {} transactions, {} journal steps, {} receipts, {} events in {:.0} s",
        seeded.transactions,
        seeded.journal,
        seeded.receipts,
        seeded.events,
        seeded.took.as_secs_f64()
    );
    let scans = plans(&full_db).await;
    let full = Eps::start(&full_db, &full_sims, 1).await;
    full.warm_up(20).await;

    let (mut on_empty, mut on_full, mut opi) =
        (Sample::default(), Sample::default(), Sample::default());
    let mut commit = Vec::new();
    for round in 1..=rounds {
        on_empty.add(empty.measure(per_round).await);
        on_full.add(full.measure(per_round).await);
        opi.add(direct(1, per_round as usize, if round == 1 { 20 } else { 2 }).await);
        commit.push(commit_p50(&empty_db, commits.div_ceil(rounds as usize)).await);
        eprintln!("round {round}/{rounds} done");
    }
    empty.stop().await;
    full.stop().await;
    assert_eq!(
        charged(&empty_sims),
        (20 + per_round * rounds) as usize,
        "one charge per payment"
    );
    empty_db.drop().await;
    full_db.drop().await;
    stop_sims(empty_sims).await;
    stop_sims(full_sims).await;
    commit.sort();
    let commit = commit[commit.len() / 2];
    let (on_empty, on_full, opi) = (on_empty.figures(), on_full.figures(), opi.figures());
    let budget = opi.p50 + 3 * commit;
    row(
        "P1",
        "payment p50, 1 site system : 1 terminal / (direct OPI p50 + 3 × synced commit p50)",
        format!(
            "{:.2} ms / ({:.2} + 3 × {:.2} = {:.2} ms)",
            ms(on_empty.p50),
            ms(opi.p50),
            ms(commit),
            ms(budget)
        ),
        ratio(on_empty.p50, budget),
        "≤ ×1.0",
    );

    // P3: many site systems on as many terminals.
    eprintln!("P3: {wide} site systems on {wide} terminals");
    let db = Db::fresh().await;
    let sims = start_sims(wide).await;
    let eps = Eps::start(&db, &sims, wide).await;
    eps.warm_up(2).await;
    let through = eps.measure(wide_payments).await.figures();
    eps.stop().await;
    assert_eq!(
        charged(&sims),
        (wide_payments + 2 * wide as u64) as usize,
        "one charge per payment"
    );
    db.drop().await;
    stop_sims(sims).await;
    let opi_wide = direct(wide, wide_payments as usize, 2).await.figures();
    row(
        "P3",
        &format!("payments/s, {wide} site systems : {wide} terminals / direct OPI on {wide}"),
        format!(
            "{:.0} / {:.0} payments/s (EPS p50 {:.1} ms, busy {})",
            through.payments_per_sec,
            opi_wide.payments_per_sec,
            ms(through.p50),
            through.busy
        ),
        through.payments_per_sec / opi_wide.payments_per_sec,
        "≥ ×0.5",
    );

    row(
        "P5",
        &format!(
            "payment p50 1:1 with {} past payments / empty store",
            seeded.transactions
        ),
        format!(
            "{:.2} / {:.2} ms ({} journal steps, {} receipts, {} events seeded in {:.0} s)",
            ms(on_full.p50),
            ms(on_empty.p50),
            seeded.journal,
            seeded.receipts,
            seeded.events,
            seeded.took.as_secs_f64()
        ),
        ratio(on_full.p50, on_empty.p50),
        "≤ ×1.2",
    );
    println!(
        "row|P5|hot reads that scan a table at {} past payments (plans: target/bench/payments-<store>.out)|{}||none ({})",
        seeded.transactions,
        if scans.is_empty() {
            "none".to_owned()
        } else {
            scans.join(", ")
        },
        if scans.is_empty() { "met" } else { "not met" }
    );
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
