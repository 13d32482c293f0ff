//! Middleware of the whole router: the response clock and request metrics.

use std::sync::OnceLock;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::dto::status::with_response_clock;
use crate::state::AppState;

/// Latency buckets in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];

/// Stamps error bodies with the server's clock (see `dto::status`).
pub(crate) async fn response_clock(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    with_response_clock(state.clock.clone(), next.run(request)).await
}

/// Counts requests and records their latency by method, route template and status.
pub(crate) async fn record_metrics(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let start = tokio::time::Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("eps_http_requests_total", &labels).increment(1);
    metrics::histogram!("eps_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// The process's Prometheus recorder, installed on first use.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder = match builder.set_buckets_for_metric(
                Matcher::Full("eps_http_request_duration_seconds".to_owned()),
                BUCKETS,
            ) {
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
