//! `/metrics`: Prometheus text exposition of request counts and latencies.

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;

use crate::state::AppState;

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
/// `eps_http_requests_total{method,route,status}` and
/// `eps_http_request_duration_seconds{method,route,status}`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")),
    security(())
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
