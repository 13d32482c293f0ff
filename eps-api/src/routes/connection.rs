//! `POST /connection` (connect, or heartbeat with the connection header) and
//! `DELETE /connection` (disconnect), as the public Open Retailing schema shows them.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::auth::{Auth, Read};
use crate::dto::connection::{ConnectBody, ConnectResponse};
use crate::dto::status::{ErrorResponse, StatusResponse, StatusReturn};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ConnectionHeader};
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/connection", post(connect).delete(disconnect))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(connect, disconnect))]
pub struct Doc;

/// Connect (POI registration), or heartbeat.
///
/// Used to establish a connection to the EPS or to verify the EPS is connected. Without the
/// `openretailing-connection-id` header it opens a connection for the site whose `merchantID`
/// has `current: "yes"` (a repeat with the same `transmissionID` within one heartbeat interval
/// returns the same `connectionID`). The client must be granted that site (its token's `sites`
/// claim, narrowed by the client's current grant): otherwise 403 `ERRCD_SITE_NOT_GRANTED`,
/// naming the site. With the header it is the heartbeat: the connection's expiry moves forward
/// and its id is returned (its body is checked like a connect's, a current `merchantID`
/// included, but not re-read). An unknown or expired id is refused (`ERRCD_UNKNOWN_CONNECTION` 404,
/// `ERRCD_CONNECTION_EXPIRED` 410): connect again without it.
#[utoipa::path(
    post,
    path = "/connection",
    tag = "connection",
    operation_id = "connect",
    params(("openretailing-connection-id" = Option<String>, Header, nullable = false,
        min_length = 1, max_length = 1024, description = "connectionIDType (1..1024 characters): present for a heartbeat")),
    request_body = ConnectBody,
    responses(
        (status = 200, description = "Connected (or heartbeat accepted)", body = ConnectResponse),
        (status = 400, description = "`ERRCD_BADREQUEST` (a field outside its limits or malformed JSON; the message names it), `ERRCD_NO_CURRENT_SITE`, `ERRCD_UNKNOWN_SITE`", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`: no or invalid bearer token", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `read`); `ERRCD_FORBIDDEN`: the connection is another client's; `ERRCD_SITE_NOT_GRANTED`: the client is not granted the site it connects for (the message names it), or no longer the heartbeat's connection's site", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`: heartbeat for an unknown connection", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`: heartbeat for an expired connection", body = ErrorResponse),
        (status = 413, description = "`ERRCD_PAYLOAD_TOO_LARGE`: body over 64 KiB", body = ErrorResponse),
        (status = 415, description = "`ERRCD_UNSUPPORTED_MEDIA_TYPE`: body not `application/json`", body = ErrorResponse),
    ),
    security(("oauth2" = ["read"]))
)]
pub async fn connect(
    Auth { caller, .. }: Auth<Read>,
    header: Option<ConnectionHeader>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ConnectBody>,
) -> ApiResult<Json<ConnectResponse>> {
    let request = body.into_domain()?;
    let transmission_id = request.transmission_id.value();
    let connection = match header {
        Some(ConnectionHeader(id)) => {
            request.current_merchant()?;
            let record = state
                .connections
                .heartbeat(&caller.client_id, &caller.sites, &id)
                .await?;
            tracing::debug!(connection = %id, client = %caller.client_id, "heartbeat");
            record
        }
        None => {
            let connected = state
                .connections
                .connect(&caller.client_id, &caller.sites, request)
                .await?;
            let record = connected.connection;
            tracing::info!(
                connection = %record.id,
                client = %caller.client_id,
                merchant = %record.merchant_id,
                replayed = connected.replayed,
                "connected"
            );
            record
        }
    };
    Ok(Json(ConnectResponse {
        status_return: StatusReturn::success(state.clock.now()),
        transmission_id,
        connection_id: connection.id.to_string(),
    }))
}

/// Disconnect.
///
/// Indicate to the EPS that the site is disconnecting this session. Any session data will be
/// removed and resources freed; the id is refused afterwards.
#[utoipa::path(
    delete,
    path = "/connection",
    tag = "connection",
    operation_id = "disconnect",
    params(("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
        description = "connectionIDType (1..1024 characters): the connectionID returned by connect")),
    responses(
        (status = 200, description = "Disconnected", body = StatusResponse),
        (status = 400, description = "`ERRCD_BADREQUEST`: header missing or outside 1..1024 characters", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `read`); `ERRCD_FORBIDDEN`: another client's connection", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
    ),
    security(("oauth2" = ["read"]))
)]
pub async fn disconnect(
    Auth { caller, .. }: Auth<Read>,
    ConnectionHeader(id): ConnectionHeader,
    State(state): State<AppState>,
) -> ApiResult<Json<StatusResponse>> {
    state.connections.disconnect(&caller.client_id, &id).await?;
    tracing::info!(connection = %id, client = %caller.client_id, "disconnected");
    Ok(Json(StatusResponse {
        status_return: StatusReturn::success(state.clock.now()),
    }))
}
