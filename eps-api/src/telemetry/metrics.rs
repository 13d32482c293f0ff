//! The Prometheus recorder and the metrics that are not counted where they happen: build
//! information, each terminal's link/login/busy state, and the count of unknown outcomes.
//!
//! Every label value is bounded: route templates, method names (`other` for the rest),
//! configured terminal ids, OPI request types, transaction kinds and states.

use std::sync::OnceLock;

use eps_core::store::Store;
use eps_core::terminal::{SharedTerminal, TerminalStatus};
use eps_core::transaction::TransactionState;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

/// Buckets, in seconds, of every `*_seconds` histogram (requests, OPI round trips, store
/// commits, event delivery lag).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];

/// The process's Prometheus recorder, installed on first use.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder =
                match builder.set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS) {
                    Ok(with_buckets) => with_buckets,
                    Err(_) => PrometheusBuilder::new(),
                };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics stays empty");
            }
            handle
        })
        .clone()
}

/// `eps_build_info{version}`: always 1; the labels say what runs.
pub fn record_build_info(store: &str) {
    metrics::gauge!(
        "eps_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "store" => store.to_owned(),
    )
    .set(1.0);
}

/// Keeps `eps_terminal_link_up`, `eps_terminal_logged_in` and `eps_terminal_busy` (0 or 1, by
/// `terminal`) in step with the terminal's status until `cancel` fires.
pub async fn follow_terminal(terminal: SharedTerminal, cancel: CancellationToken) {
    let id = terminal.id().to_string();
    let mut status = terminal.status();
    loop {
        let current = *status.borrow_and_update();
        record_terminal(&id, current);
        tokio::select! {
            () = cancel.cancelled() => return,
            changed = status.changed() => if changed.is_err() { return },
        }
    }
}

/// Sets the three state gauges of terminal `id`.
fn record_terminal(id: &str, status: TerminalStatus) {
    let (link, logged_in, busy) = terminal_flags(status);
    let flag = |on: bool| if on { 1.0 } else { 0.0 };
    metrics::gauge!("eps_terminal_link_up", "terminal" => id.to_owned()).set(flag(link));
    metrics::gauge!("eps_terminal_logged_in", "terminal" => id.to_owned()).set(flag(logged_in));
    metrics::gauge!("eps_terminal_busy", "terminal" => id.to_owned()).set(flag(busy));
}

/// Link up, logged in, busy, as far as a status tells. `Unknown` (not yet checked, or the last
/// answer was lost) claims nothing.
const fn terminal_flags(status: TerminalStatus) -> (bool, bool, bool) {
    match status {
        TerminalStatus::Busy => (true, true, true),
        TerminalStatus::Online => (true, true, false),
        TerminalStatus::LoggedOut => (true, false, false),
        TerminalStatus::Offline | TerminalStatus::Unknown => (false, false, false),
    }
}

/// Sets `eps_transactions_unknown` to the number of transactions now waiting for recovery or a
/// person, as the store has them (so it survives restarts and counts every node's).
pub async fn record_unknown_outcomes(store: &dyn Store) {
    match store.unresolved_transactions().await {
        Ok(unresolved) => {
            let unknown = unresolved
                .iter()
                .filter(|t| t.state == TransactionState::Unknown)
                .count();
            metrics::gauge!("eps_transactions_unknown").set(unknown as f64);
        }
        Err(e) => tracing::warn!(error = %e, "unknown outcomes could not be counted for /metrics"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_flags() {
        assert_eq!(terminal_flags(TerminalStatus::Busy), (true, true, true));
        assert_eq!(terminal_flags(TerminalStatus::Online), (true, true, false));
        assert_eq!(
            terminal_flags(TerminalStatus::LoggedOut),
            (true, false, false)
        );
        assert_eq!(
            terminal_flags(TerminalStatus::Offline),
            (false, false, false)
        );
        assert_eq!(
            terminal_flags(TerminalStatus::Unknown),
            (false, false, false)
        );
    }
}
