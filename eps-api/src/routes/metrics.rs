//! `/metrics`: Prometheus text exposition of request counts and latencies.

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;

use crate::state::AppState;
use crate::telemetry::metrics::record_unknown_outcomes;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(metrics))]
pub struct Doc;

/// Prometheus metrics.
///
/// HTTP requests, terminal states, OPI round trips, transactions by kind and final state,
/// unknown outcomes, store commits, event streams and delivery lag, token requests and build
/// information (the README lists every metric).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")),
    security(())
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    record_unknown_outcomes(state.store.as_ref()).await;
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
