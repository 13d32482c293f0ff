//! The OAuth2 gate as an extractor: `Auth<Read>` in a handler's signature means "a valid bearer
//! token with the `read` scope", and hands the handler the caller's [`Principal`].

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use eps_core::client::Scope;

use crate::auth::verify::Principal;
use crate::error::{ApiError, BearerChallenge};
use crate::state::AppState;

/// A scope a route requires, as a type.
pub trait RequiredScope: Send + Sync + 'static {
    /// The scope.
    const SCOPE: Scope;
}

/// The `read` scope.
#[derive(Debug)]
pub struct Read;
/// The `write` scope.
#[derive(Debug)]
pub struct Write;
/// The `admin` scope.
#[derive(Debug)]
pub struct Admin;

impl RequiredScope for Read {
    const SCOPE: Scope = Scope::Read;
}
impl RequiredScope for Write {
    const SCOPE: Scope = Scope::Write;
}
impl RequiredScope for Admin {
    const SCOPE: Scope = Scope::Admin;
}

/// A caller whose bearer token is valid and carries scope `S`.
#[derive(Debug)]
pub struct Auth<S> {
    /// Who is calling.
    pub caller: Principal,
    scope: PhantomData<S>,
}

impl<S: RequiredScope> FromRequestParts<AppState> for Auth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = header_token(parts)?
            .ok_or_else(|| ApiError::Unauthorized(BearerChallenge::missing()))?;
        Self::verify(state, token).await
    }
}

impl<S: RequiredScope> Auth<S> {
    /// Checks `token` (however it was sent) and that it carries scope `S`.
    pub(crate) async fn verify(state: &AppState, token: &str) -> Result<Self, ApiError> {
        let caller = state.tokens.verify(token, state.clock.now()).await?;
        // The request span (see `middleware::request_span`) names the client from here on.
        tracing::Span::current().record("client", tracing::field::display(&caller.client_id));
        if !caller.scopes.contains(S::SCOPE) {
            return Err(ApiError::InsufficientScope(S::SCOPE));
        }
        Ok(Self {
            caller,
            scope: PhantomData,
        })
    }
}

/// The token of a single `Authorization: Bearer <token>` header, if one was sent.
pub(crate) fn header_token(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::Unauthorized(BearerChallenge::invalid_request(
            "more than one Authorization header",
        )));
    }
    let value = value.to_str().map_err(|_| {
        ApiError::Unauthorized(BearerChallenge::invalid_request(
            "the Authorization header is not ASCII",
        ))
    })?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::Unauthorized(BearerChallenge::invalid_request(
            "the Authorization header must be \"Bearer <token>\"",
        ))),
    }
}
