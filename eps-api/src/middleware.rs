//! Middleware of the whole router: the response clock, request metrics, and the request span
//! (whose URI never shows an `access_token`).

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

/// The span of each request, as `tower-http`'s default but with `access_token` redacted.
pub(crate) fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %redacted_uri(request.uri()),
        version = ?request.version(),
    )
}

/// The path and query of `uri` with the value of every `access_token` parameter replaced.
pub(crate) fn redacted_uri(uri: &axum::http::Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.path().to_owned();
    };
    let pairs: Vec<_> = query
        .split('&')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            // Compared as the query parser reads it, so `access%5Ftoken` is caught too.
            let decoded = percent_encoding::percent_decode_str(&name.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned();
            if decoded == "access_token" {
                format!("{name}=[redacted]")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{}?{}", uri.path(), pairs.join("&"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_never_reach_the_request_span() {
        let uri: axum::http::Uri = "/events?connectionID=c-1&access_token=eyJ.secret.sig&x=1&access%5Ftoken=two&access_token"
            .parse()
            .unwrap();
        let shown = redacted_uri(&uri);
        assert_eq!(
            shown,
            "/events?connectionID=c-1&access_token=[redacted]&x=1&access%5Ftoken=[redacted]&access_token=[redacted]"
        );
        let plain: axum::http::Uri = "/POIs".parse().unwrap();
        assert_eq!(redacted_uri(&plain), "/POIs");
    }
}
