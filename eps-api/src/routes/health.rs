//! `/healthz` (the process answers) and `/readyz` (the store answers and, with an external
//! issuer, its keys are loaded). Neither needs a token.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::dto::status::{ErrorResponse, StatusReturn};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(healthz, readyz))]
pub struct Doc;

/// A health answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HealthResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// `sqlite` or `postgres`.
    pub store: String,
}

/// Liveness.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    operation_id = "healthz",
    responses((status = 200, description = "The process is serving", body = HealthResponse)),
    security(())
)]
pub async fn healthz(State(state): State<AppState>) -> Json<HealthResponse> {
    Json(HealthResponse {
        status_return: StatusReturn::success(state.clock.now()),
        store: state.store.backend().to_owned(),
    })
}

/// Readiness.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    operation_id = "readyz",
    responses(
        (status = 200, description = "Ready to serve", body = HealthResponse),
        (status = 503, description = "`ERRCD_NOT_READY`: the store or the issuer's keys are unavailable", body = ErrorResponse),
    ),
    security(())
)]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<HealthResponse>> {
    if state.shutdown.is_cancelled() {
        return Err(ApiError::NotReady("shutting down".to_owned()));
    }
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::NotReady(format!("the store does not answer: {e}")))?;
    if state
        .tokens
        .remote_keys()
        .is_some_and(|keys| !keys.is_loaded())
    {
        return Err(ApiError::NotReady(
            "the issuer's JWKS is not loaded".to_owned(),
        ));
    }
    Ok(Json(HealthResponse {
        status_return: StatusReturn::success(state.clock.now()),
        store: state.store.backend().to_owned(),
    }))
}
