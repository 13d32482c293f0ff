//! `/admin/connections`: operators list, inspect and force-disconnect site-system connections.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use eps_core::audit::{AuditAction, AuditOutcome};
use eps_core::ids::ConnectionId;
use utoipa::OpenApi;

use crate::auth::{Admin, Auth};
use crate::dto::admin::{AdminConnection, AdminConnectionList, AdminConnectionResponse};
use crate::dto::status::{ErrorResponse, StatusReturn};
use crate::error::{ApiError, ApiResult};
use crate::routes::admin_audit::audit;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/connections", get(list_connections))
        .route(
            "/admin/connections/{connectionID}",
            get(show_connection).delete(force_disconnect),
        )
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(list_connections, show_connection, force_disconnect))]
pub struct Doc;

/// List connections.
///
/// Every stored connection, oldest first: active ones and expired ones not yet forgotten.
#[utoipa::path(
    get,
    path = "/admin/connections",
    tag = "admin",
    operation_id = "adminListConnections",
    responses(
        (status = 200, description = "The connections", body = AdminConnectionList),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn list_connections(
    _: Auth<Admin>,
    State(state): State<AppState>,
) -> ApiResult<Json<AdminConnectionList>> {
    let now = state.clock.now();
    let connections = state.connections.list().await?;
    Ok(Json(AdminConnectionList {
        status_return: StatusReturn::success(now),
        connections: connections
            .iter()
            .map(|c| AdminConnection::new(c, now))
            .collect(),
    }))
}

/// Show a connection.
#[utoipa::path(
    get,
    path = "/admin/connections/{connectionID}",
    tag = "admin",
    operation_id = "adminShowConnection",
    params(("connectionID" = String, Path, description = "The connection id")),
    responses(
        (status = 200, description = "The connection", body = AdminConnectionResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn show_connection(
    _: Auth<Admin>,
    Path(id): Path<String>,
    State(state): State<AppState>,
) -> ApiResult<Json<AdminConnectionResponse>> {
    let record = state.connections.find(&parse_id(&id)?).await?;
    let now = state.clock.now();
    Ok(Json(AdminConnectionResponse {
        status_return: StatusReturn::success(now),
        connection: AdminConnection::new(&record, now),
    }))
}

/// Force a disconnect.
///
/// Closes the connection whoever owns it; its id is refused afterwards and the site system must
/// connect again, and its event streams end. Recorded in the audit log.
#[utoipa::path(
    delete,
    path = "/admin/connections/{connectionID}",
    tag = "admin",
    operation_id = "adminForceDisconnect",
    params(("connectionID" = String, Path, description = "The connection id")),
    responses(
        (status = 200, description = "Disconnected; the connection as it was", body = AdminConnectionResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn force_disconnect(
    Auth { caller, .. }: Auth<Admin>,
    Path(id): Path<String>,
    State(state): State<AppState>,
) -> ApiResult<Json<AdminConnectionResponse>> {
    let id = parse_id(&id)?;
    let closed = state.connections.force_disconnect(&id).await;
    let (outcome, detail) = match &closed {
        Ok(record) => (
            AuditOutcome::Success,
            format!("closed; owned by {}", record.client_id),
        ),
        Err(error) => (AuditOutcome::Failure, error.to_string()),
    };
    audit(
        &state,
        caller.client_id.as_str(),
        AuditAction::ForceDisconnect,
        &id.to_string(),
        None,
        outcome,
        &detail,
    )
    .await;
    let record = closed?;
    tracing::info!(connection = %record.id, owner = %record.client_id, by = %caller.client_id, "force-disconnected");
    let now = state.clock.now();
    Ok(Json(AdminConnectionResponse {
        status_return: StatusReturn::success(now),
        connection: AdminConnection::new(&record, now),
    }))
}

/// A path id; anything this EPS cannot have issued is unknown.
fn parse_id(id: &str) -> Result<ConnectionId, ApiError> {
    ConnectionId::parse(id).map_err(|_| eps_core::Error::UnknownConnection.into())
}
