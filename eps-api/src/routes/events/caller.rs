//! Who subscribes, and from where: a site system (a `read` token and a live connection of its
//! own) or an operator (`admin`), and the `Last-Event-ID` it resumes after.
//!
//! Browsers' `EventSource` cannot send headers, so on `GET /events` and `GET /events/ws` (and
//! nowhere else) the token may come as `?access_token=` (RFC 6750 §2.3) and the connection as
//! `?connectionID=`; the router's request log redacts the token.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use eps_core::connection::{ClosureWatch, ConnectionRecord};
use eps_core::ids::EventId;

use crate::auth::scope::header_token;
use crate::auth::{Admin, Auth, Principal, Read};
use crate::error::{ApiError, BearerChallenge};
use crate::extract::CONNECTION_HEADER;
use crate::extract::connection::parse_connection_id;
use crate::state::AppState;

/// The SSE reconnection header.
pub(crate) const LAST_EVENT_ID_HEADER: &str = "last-event-id";
/// The query parameter carrying the bearer token (site streams only).
pub(crate) const ACCESS_TOKEN_PARAM: &str = "access_token";
/// The query parameter carrying the connection id (site streams only).
pub(crate) const CONNECTION_PARAM: &str = "connectionID";
/// The query parameter carrying the resume point (any stream).
pub(crate) const LAST_EVENT_ID_PARAM: &str = "lastEventID";

/// A site system's subscription request: its connection's site's events only.
pub struct SiteStream {
    /// Who is calling.
    pub caller: Principal,
    /// Their live connection.
    pub connection: ConnectionRecord,
    /// Fires when that connection is disconnected on this node.
    pub closure: ClosureWatch,
    /// Where to resume, if the client says.
    pub last_event_id: Option<EventId>,
}

/// An operator's subscription request: every event.
pub struct OperatorStream {
    /// Who is calling.
    pub caller: Principal,
    /// Where to resume, if the client says.
    pub last_event_id: Option<EventId>,
}

impl FromRequestParts<AppState> for SiteStream {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let query = StreamQuery::parse(parts)?;
        let token = match (header_token(parts)?, query.access_token.as_deref()) {
            (Some(token), None) | (None, Some(token)) => token,
            (None, None) => return Err(ApiError::Unauthorized(BearerChallenge::missing())),
            (Some(_), Some(_)) => {
                return Err(ApiError::Unauthorized(BearerChallenge::invalid_request(
                    "send the token once: in the Authorization header or as access_token",
                )));
            }
        };
        let Auth { caller, .. } = Auth::<Read>::verify(state, token).await?;
        let id = match (
            single_header(parts, CONNECTION_HEADER)?,
            query.connection_id,
        ) {
            (Some(header), None) => parse_connection_id(CONNECTION_HEADER, &header)?,
            (None, Some(param)) => parse_connection_id(CONNECTION_PARAM, &param)?,
            (None, None) => {
                return Err(ApiError::BadRequest(format!(
                    "header {CONNECTION_HEADER} (or query parameter {CONNECTION_PARAM}) is required"
                )));
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::BadRequest(format!(
                    "send the connection once: header {CONNECTION_HEADER} or {CONNECTION_PARAM}"
                )));
            }
        };
        // Watch before checking, so a disconnect racing this request still ends the stream.
        let closure = state.connections.watch_closure(id);
        let connection = state
            .connections
            .authorize(&caller.client_id, &caller.sites, &id)
            .await?;
        Ok(Self {
            caller,
            connection,
            closure,
            last_event_id: last_event_id(parts, query.last_event_id)?,
        })
    }
}

impl FromRequestParts<AppState> for OperatorStream {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Auth { caller, .. } = Auth::<Admin>::from_request_parts(parts, state).await?;
        let query = StreamQuery::parse(parts)?;
        Ok(Self {
            caller,
            last_event_id: last_event_id(parts, query.last_event_id)?,
        })
    }
}

/// The query parameters the stream routes read; others are ignored.
#[derive(Default)]
struct StreamQuery {
    access_token: Option<String>,
    connection_id: Option<String>,
    last_event_id: Option<String>,
}

impl StreamQuery {
    fn parse(parts: &Parts) -> Result<Self, ApiError> {
        // The rejection's text is not shown: it could quote the token.
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::BadRequest("the query string is malformed".to_owned()))?;
        let mut query = Self::default();
        for (name, value) in pairs {
            let slot = match name.as_str() {
                ACCESS_TOKEN_PARAM => &mut query.access_token,
                CONNECTION_PARAM => &mut query.connection_id,
                LAST_EVENT_ID_PARAM => &mut query.last_event_id,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(ApiError::field(&name, "must be sent once"));
            }
        }
        Ok(query)
    }
}

/// The header `name` as text, if sent once.
fn single_header(parts: &Parts, name: &str) -> Result<Option<String>, ApiError> {
    let mut values = parts.headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::field(name, "must be sent once"));
    }
    let value = value
        .to_str()
        .map_err(|_| ApiError::field(name, "must be visible ASCII"))?;
    Ok(Some(value.to_owned()))
}

/// The resume point: the `Last-Event-ID` header (a browser's reconnect, which wins) or the
/// `lastEventID` parameter; an empty value means none, as in the SSE standard.
fn last_event_id(parts: &Parts, param: Option<String>) -> Result<Option<EventId>, ApiError> {
    let (field, value) = match single_header(parts, LAST_EVENT_ID_HEADER)? {
        Some(header) => ("Last-Event-ID", header),
        None => match param {
            Some(param) => (LAST_EVENT_ID_PARAM, param),
            None => return Ok(None),
        },
    };
    if value.trim().is_empty() {
        return Ok(None);
    }
    EventId::parse(&value)
        .map(Some)
        .map_err(|_| ApiError::field(field, "must be an event id (a non-negative integer)"))
}
