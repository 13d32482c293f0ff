//! The `openretailing-connection-id` header (`connectionIDType`, 1..1024 characters), and
//! `Session<S>`: a caller with scope `S` presenting a live connection of its own.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use eps_core::connection::ConnectionRecord;
use eps_core::ids::{ConnectionId, IdError};

use crate::auth::{Auth, Principal, RequiredScope};
use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying the connection id.
pub const CONNECTION_HEADER: &str = "openretailing-connection-id";

/// A well-formed `openretailing-connection-id` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionHeader(pub ConnectionId);

impl<S: Send + Sync> FromRequestParts<S> for ConnectionHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse(parts)?
            .map(Self)
            .ok_or_else(|| ApiError::BadRequest(format!("header {CONNECTION_HEADER} is required")))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for ConnectionHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, ApiError> {
        Ok(parse(parts)?.map(Self))
    }
}

fn parse(parts: &Parts) -> Result<Option<ConnectionId>, ApiError> {
    let mut values = parts.headers.get_all(CONNECTION_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::field(CONNECTION_HEADER, "must be sent once"));
    }
    let value = value
        .to_str()
        .map_err(|_| ApiError::field(CONNECTION_HEADER, "must be visible ASCII"))?;
    parse_connection_id(CONNECTION_HEADER, value).map(Some)
}

/// A connection id sent as `field` (the header, or a query parameter where one is allowed).
pub(crate) fn parse_connection_id(field: &str, value: &str) -> Result<ConnectionId, ApiError> {
    match ConnectionId::from_header(value) {
        Ok(id) => Ok(id),
        Err(IdError::Empty | IdError::TooLong { .. }) => {
            Err(ApiError::field(field, "must be 1..1024 characters"))
        }
        // Well-formed but not an id this EPS issued: unknown, so the client reconnects.
        Err(_) => Err(eps_core::Error::UnknownConnection.into()),
    }
}

/// A caller with scope `S` and the live connection it presented, which is its own and for a
/// site the caller is (still) granted.
#[derive(Debug)]
pub struct Session<S> {
    /// Who is calling.
    pub caller: Principal,
    /// Their connection.
    pub connection: ConnectionRecord,
    scope: PhantomData<S>,
}

impl<S: RequiredScope> FromRequestParts<AppState> for Session<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Auth { caller, .. } = Auth::<S>::from_request_parts(parts, state).await?;
        let ConnectionHeader(id) =
            <ConnectionHeader as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await?;
        let connection = state
            .connections
            .authorize(&caller.client_id, &caller.sites, &id)
            .await?;
        Ok(Self {
            caller,
            connection,
            scope: PhantomData,
        })
    }
}
