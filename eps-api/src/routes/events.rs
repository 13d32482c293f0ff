//! The event channels: `GET /events` (SSE) and `GET /events/ws` (WebSocket) stream a
//! connection's site's events; `GET /admin/events` and `GET /admin/events/ws` stream every
//! event to operators. A stream resumes after `Last-Event-ID` from the durable log, then goes
//! live; `heartBeatEvent` keeps it warm; a gap beyond retention is announced; a subscriber that
//! falls behind, or whose connection closes or expires, gets a final `streamClosedEvent`.
//!
//! # Layout
//! - `caller`: who subscribes (token and connection from headers, or the query for browsers).
//! - `subscription`: one open stream: feed, heartbeats, end reasons.
//! - `frame`: a message rendered for the wire, once per live event.
//! - `sse`, `ws`: the two carriers.

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::response::Response;
use axum::routing::get;
use utoipa::OpenApi;

use crate::dto::event::EventMessage;
use crate::dto::status::ErrorResponse;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

mod caller;
mod frame;
mod sse;
mod subscription;
mod ws;

pub use caller::{OperatorStream, SiteStream};

use subscription::Subscription;

/// Incoming WebSocket messages are tiny (close, ping): a small read buffer per socket.
const WS_READ_BUFFER: usize = 4 * 1024;
/// Outgoing messages are written out at once; at most this much may wait in a socket's buffer.
const WS_MAX_WRITE_BUFFER: usize = 256 * 1024;
/// The largest message a client may send.
const WS_MAX_MESSAGE: usize = 64 * 1024;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(site_events))
        .route("/events/ws", get(site_events_ws))
        .route("/admin/events", get(all_events))
        .route("/admin/events/ws", get(all_events_ws))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(site_events, site_events_ws, all_events, all_events_ws))]
pub struct Doc;

/// Subscribe to the site's events (Server-Sent Events).
///
/// Streams the events of the connection's site as `text/event-stream`: first `retry:`, then one
/// frame per event — `id:` (the eventID), `event:` (its name), `data:` (the JSON message
/// documented as `EventMessage`). With `Last-Event-ID` (header, as `EventSource` sends on
/// reconnect, or `lastEventID`) every retained event after it is replayed first; without it the
/// stream starts with the next event. Events purged by retention are announced by an
/// `eventsLostEvent`. `heartBeatEvent` arrives at the configured interval (default 15 s) and has
/// no `id:` line. The stream ends with a `streamClosedEvent` naming the reason: `tooSlow`,
/// `connectionClosed`, `connectionExpired`, `accessRevoked` (checked at every heartbeat),
/// `shutdown` or `unavailable`.
///
/// Browsers' `EventSource` cannot send headers: on this route and `/events/ws` only, the bearer
/// token may be sent as `access_token` and the connection as `connectionID` in the query.
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    operation_id = "subscribeEvents",
    params(
        ("openretailing-connection-id" = Option<String>, Header, nullable = false, min_length = 1, max_length = 1024,
            description = "connectionIDType: the connectionID returned by connect (or `connectionID`)"),
        ("Last-Event-ID" = Option<String>, Header, nullable = false,
            description = "Resume after this eventID (wins over `lastEventID`)"),
        ("connectionID" = Option<String>, Query, nullable = false,
            description = "The connection, for clients that cannot send the header"),
        ("lastEventID" = Option<String>, Query, nullable = false,
            description = "Resume after this eventID"),
        ("access_token" = Option<String>, Query, nullable = false,
            description = "The bearer token, for clients that cannot send `Authorization` (never logged)"),
    ),
    responses(
        (status = 200, description = "The event stream; each `data:` line is one `EventMessage`",
            content_type = "text/event-stream", body = EventMessage),
        (status = 400, description = "`ERRCD_BADREQUEST`: connection missing or malformed, `Last-Event-ID` malformed or beyond the newest event", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `read`); `ERRCD_FORBIDDEN`: another client's connection; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
    ),
    security(("oauth2" = ["read"]))
)]
pub async fn site_events(
    request: SiteStream,
    State(state): State<AppState>,
) -> ApiResult<Response> {
    let subscription = Subscription::site(&state, request, "sse").await?;
    Ok(sse::response(subscription, state.settings.events.retry))
}

/// Subscribe to the site's events (WebSocket).
///
/// The same stream as `GET /events` over a WebSocket: each `EventMessage` is one text message;
/// `streamClosedEvent` is followed by a close frame (1013 `tooSlow`, 1008 `connectionClosed` /
/// `connectionExpired` / `accessRevoked`, 1001 `shutdown`, 1011 `unavailable`). Resume with
/// `lastEventID`.
/// A client that stops reading is disconnected once a send has waited the send timeout.
#[utoipa::path(
    get,
    path = "/events/ws",
    tag = "events",
    operation_id = "subscribeEventsWebSocket",
    params(
        ("openretailing-connection-id" = Option<String>, Header, nullable = false, min_length = 1, max_length = 1024,
            description = "connectionIDType: the connectionID returned by connect (or `connectionID`)"),
        ("connectionID" = Option<String>, Query, nullable = false,
            description = "The connection, for clients that cannot send the header"),
        ("lastEventID" = Option<String>, Query, nullable = false,
            description = "Resume after this eventID"),
        ("access_token" = Option<String>, Query, nullable = false,
            description = "The bearer token, for clients that cannot send `Authorization` (never logged)"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; each text message is one `EventMessage`",
            content_type = "application/json", body = EventMessage),
        (status = 400, description = "`ERRCD_BADREQUEST`: not a WebSocket handshake; connection missing or malformed; `lastEventID` malformed or beyond the newest event", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `read`); `ERRCD_FORBIDDEN`: another client's connection; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
    ),
    security(("oauth2" = ["read"]))
)]
pub async fn site_events_ws(
    request: SiteStream,
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let upgrade = upgrade.map_err(refused_upgrade)?;
    let subscription = Subscription::site(&state, request, "ws").await?;
    Ok(upgrade_to(upgrade, subscription, &state))
}

/// Watch every event (operators, Server-Sent Events).
///
/// Every site's events and those of no site, with the frames, replay, heartbeats and closing
/// of `GET /events`. The token must be sent in the `Authorization` header.
#[utoipa::path(
    get,
    path = "/admin/events",
    tag = "admin",
    operation_id = "adminSubscribeEvents",
    params(
        ("Last-Event-ID" = Option<String>, Header, nullable = false,
            description = "Resume after this eventID (wins over `lastEventID`)"),
        ("lastEventID" = Option<String>, Query, nullable = false, description = "Resume after this eventID"),
    ),
    responses(
        (status = 200, description = "The event stream; each `data:` line is one `EventMessage`",
            content_type = "text/event-stream", body = EventMessage),
        (status = 400, description = "`ERRCD_BADREQUEST`: `Last-Event-ID` malformed or beyond the newest event", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn all_events(
    request: OperatorStream,
    State(state): State<AppState>,
) -> ApiResult<Response> {
    let subscription = Subscription::operator(&state, request, "sse").await?;
    Ok(sse::response(subscription, state.settings.events.retry))
}

/// Watch every event (operators, WebSocket).
///
/// The stream of `GET /admin/events` over a WebSocket, as `GET /events/ws` carries it.
#[utoipa::path(
    get,
    path = "/admin/events/ws",
    tag = "admin",
    operation_id = "adminSubscribeEventsWebSocket",
    params(("lastEventID" = Option<String>, Query, nullable = false, description = "Resume after this eventID")),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol; each text message is one `EventMessage`",
            content_type = "application/json", body = EventMessage),
        (status = 400, description = "`ERRCD_BADREQUEST`: not a WebSocket handshake; `lastEventID` malformed or beyond the newest event", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn all_events_ws(
    request: OperatorStream,
    State(state): State<AppState>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let upgrade = upgrade.map_err(refused_upgrade)?;
    let subscription = Subscription::operator(&state, request, "ws").await?;
    Ok(upgrade_to(upgrade, subscription, &state))
}

/// Completes the handshake and streams `subscription` on the socket.
fn upgrade_to(upgrade: WebSocketUpgrade, subscription: Subscription, state: &AppState) -> Response {
    let send_timeout = state.settings.events.send_timeout;
    upgrade
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(WS_MAX_WRITE_BUFFER)
        .max_message_size(WS_MAX_MESSAGE)
        .on_upgrade(move |socket| ws::run(socket, subscription, send_timeout))
}

/// A request that is not a WebSocket handshake.
fn refused_upgrade(rejection: WebSocketUpgradeRejection) -> ApiError {
    ApiError::BadRequest(format!(
        "not a WebSocket handshake: {}",
        rejection.body_text()
    ))
}
