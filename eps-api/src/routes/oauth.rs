//! The built-in issuer: `POST /oauth/token` (client credentials, RFC 6749 §4.4, errors per §5.2),
//! `GET /.well-known/jwks.json` and `GET /.well-known/oauth-authorization-server` (RFC 8414).
//! Mounted only when `auth.mode` is `builtin`.
//!
//! The token endpoint is guarded ([`crate::auth::throttle`]): failed attempts per `client_id`
//! and per TCP peer address are limited, and secret checks run a few at a time on blocking
//! threads; past either, the answer is 429 `temporarily_unavailable` with `Retry-After`.
//! `X-Forwarded-For` is not read: behind a proxy every client shares the proxy's address.

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use eps_core::client::ScopeSet;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::auth::clients::ClientError;
use crate::auth::throttle::Throttled;
use crate::error::REALM;
use crate::listener::PeerAddr;
use crate::state::AppState;

/// The routes of the built-in issuer.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/.well-known/oauth-authorization-server", get(metadata))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(token, jwks, metadata))]
pub struct Doc;

/// The token request (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    #[schema(required = true, nullable = false)]
    pub grant_type: Option<String>,
    /// Space-separated scopes wanted; default all the client may have.
    #[schema(nullable = false)]
    pub scope: Option<String>,
    /// `client_secret_post`: the client id.
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// `client_secret_post`: the client secret.
    #[schema(value_type = Option<String>, nullable = false)]
    pub client_secret: Option<SecretString>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// The ES256 JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// An RFC 6749 §5.2 error response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type`, `invalid_scope`,
    /// `temporarily_unavailable` (429: too many failures or requests; see `Retry-After`), …
    pub error: String,
    /// What is wrong.
    pub error_description: String,
}

/// An RFC 8414 authorization-server metadata document.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ServerMetadata {
    /// The `iss` of issued tokens.
    pub issuer: String,
    /// Where to obtain tokens.
    pub token_endpoint: String,
    /// Where the verification keys are.
    pub jwks_uri: String,
    /// Only `client_credentials`.
    pub grant_types_supported: Vec<String>,
    /// `client_secret_basic` and `client_secret_post`.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// `read`, `write`, `admin`.
    pub scopes_supported: Vec<String>,
    /// Empty: there is no authorization endpoint.
    pub response_types_supported: Vec<String>,
}

/// The `error` of a throttled token request (with status 429 and `Retry-After`).
pub const THROTTLED_ERROR: &str = "temporarily_unavailable";

/// A token-endpoint failure.
#[derive(Debug)]
pub struct OAuthError {
    error: &'static str,
    description: String,
    retry_after: Option<u64>,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
            retry_after: None,
        }
    }

    fn throttled(why: Throttled) -> Self {
        let reason = match why {
            Throttled::ClientFailures { .. } => "client",
            Throttled::AddressFailures { .. } => "address",
            Throttled::Busy => "busy",
        };
        metrics::counter!("eps_token_requests_throttled_total", "reason" => reason).increment(1);
        Self {
            error: THROTTLED_ERROR,
            description: why.description(),
            retry_after: Some(why.retry_after()),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match self.error {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            THROTTLED_ERROR => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = OAuthErrorBody {
            error: self.error.to_owned(),
            error_description: self.description,
        };
        let mut response = (status, no_store(), Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            let challenge = format!("Basic realm=\"{REALM}\"");
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// Obtain an access token.
///
/// The OAuth2 client-credentials grant (RFC 6749 §4.4). The client authenticates with HTTP Basic
/// (`client_secret_basic`) or with `client_id` and `client_secret` in the form
/// (`client_secret_post`), not both. Errors follow RFC 6749 §5.2, not `statusReturn`.
/// Served only by the built-in issuer.
///
/// The token carries the client's scopes and its site grant (`sites`: merchant ids, or `["*"]`).
/// Failed attempts are limited per `client_id` (known or not) and per source address, and only a
/// few secret checks run at once: past that the answer is 429 `temporarily_unavailable` with
/// `Retry-After`.
#[utoipa::path(
    post,
    path = "/oauth/token",
    tag = "oauth",
    operation_id = "token",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A token", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type` or `invalid_scope`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`: unknown client or wrong secret", body = OAuthErrorBody),
        (status = 429, description = "`temporarily_unavailable`: too many failed attempts for this client_id or from this address, or too many requests at once; `Retry-After` says when to retry", body = OAuthErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    ),
    security((), ("client_secret_basic" = []))
)]
pub async fn token(
    state: State<AppState>,
    peer: Option<Extension<ConnectInfo<PeerAddr>>>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, OAuthError> {
    let answer = issue_token(state, peer, headers, form).await;
    // `issued`, or the OAuth2 error code: a bounded label.
    let result = answer.as_ref().map_or_else(|e| e.error, |_| "issued");
    metrics::counter!("eps_token_requests_total", "result" => result).increment(1);
    answer
}

/// The token endpoint's work; [`token`] counts its result.
async fn issue_token(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<PeerAddr>>>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, OAuthError> {
    let Form(form) = form.map_err(|rejection| {
        OAuthError::new(
            "invalid_request",
            format!(
                "the body must be application/x-www-form-urlencoded with each parameter once: {}",
                rejection.body_text()
            ),
        )
    })?;
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported; use client_credentials"),
            ));
        }
        None => return Err(OAuthError::new("invalid_request", "grant_type is required")),
    }
    let (client_id, secret) = client_credentials(&headers, form.client_id, form.client_secret)?;
    let (Some(issuer), Some(throttle)) = (&state.issuer, &state.throttle) else {
        return Err(OAuthError::new("server_error", "no built-in issuer"));
    };
    let address = peer.map(|Extension(ConnectInfo(PeerAddr(addr)))| addr.ip());
    let attempt = throttle
        .attempt(&client_id, address, state.clock.now())
        .map_err(OAuthError::throttled)?;
    let slot = match throttle.hashing_slot().await {
        Ok(slot) => slot,
        Err(busy) => {
            throttle.give_back(attempt, state.clock.now());
            return Err(OAuthError::throttled(busy));
        }
    };
    let client = match state.clients.authenticate(&client_id, &secret, slot).await {
        Ok(client) => {
            throttle.give_back(attempt, state.clock.now());
            client
        }
        Err(ClientError::BadCredentials) => {
            // The attempt's tokens stay taken: this is what the failure limits count.
            drop(attempt);
            tracing::debug!(address = ?address, "token request with an unknown client or a wrong secret");
            return Err(OAuthError::new(
                "invalid_client",
                "unknown client or wrong secret",
            ));
        }
        Err(other) => {
            throttle.give_back(attempt, state.clock.now());
            tracing::error!(error = %other, "client authentication failed");
            return Err(OAuthError::new(
                "server_error",
                "client authentication failed",
            ));
        }
    };
    let scope = match form.scope.as_deref().map(str::trim) {
        None | Some("") => client.scopes.clone(),
        Some(wanted) => {
            let wanted = ScopeSet::parse(wanted).map_err(|unknown| {
                OAuthError::new("invalid_scope", format!("unknown scope {unknown:?}"))
            })?;
            if !client.scopes.is_superset(&wanted) {
                return Err(OAuthError::new(
                    "invalid_scope",
                    format!("this client may have only: {}", client.scopes),
                ));
            }
            wanted
        }
    };
    if scope.is_empty() {
        return Err(OAuthError::new("invalid_scope", "the client has no scopes"));
    }
    let issued = issuer
        .issue(&client.client_id, scope, &client.sites, state.clock.now())
        .map_err(|e| {
            tracing::error!(error = %e, "signing a token failed");
            OAuthError::new("server_error", "signing the token failed")
        })?;
    tracing::info!(client = %client.client_id, scope = %issued.scope, sites = %client.sites, "issued a token");
    let body = TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer".to_owned(),
        expires_in: issued.expires_in,
        scope: issued.scope.to_string(),
    };
    Ok((no_store(), Json(body)).into_response())
}

/// The client id and secret, from exactly one of HTTP Basic or the form.
fn client_credentials(
    headers: &HeaderMap,
    form_id: Option<String>,
    form_secret: Option<SecretString>,
) -> Result<(String, SecretString), OAuthError> {
    let basic = headers.get(AUTHORIZATION).map(parse_basic).transpose()?;
    match (basic, form_id, form_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(OAuthError::new(
            "invalid_request",
            "use one client authentication method: HTTP Basic or client_id/client_secret",
        )),
        (Some(credentials), None, None) => Ok(credentials),
        (None, Some(id), Some(secret)) => Ok((id, secret)),
        (None, Some(_), None) => Err(OAuthError::new(
            "invalid_client",
            "client_secret is required",
        )),
        (None, None, _) => Err(OAuthError::new(
            "invalid_client",
            "client authentication is required (HTTP Basic or client_id/client_secret)",
        )),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &HeaderValue) -> Result<(String, SecretString), OAuthError> {
    let bad = || OAuthError::new("invalid_client", "malformed HTTP Basic credentials");
    let text = value.to_str().map_err(|_| bad())?;
    let (scheme, encoded) = text.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    Ok((
        form_decode(id).ok_or_else(bad)?,
        SecretString::from(form_decode(secret).ok_or_else(bad)?),
    ))
}

fn form_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

fn no_store() -> [(axum::http::HeaderName, HeaderValue); 2] {
    [
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// The issuer's verification keys.
///
/// A JWKS with the built-in issuer's ES256 public key; `kid` is its RFC 7638 thumbprint.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "oauth",
    operation_id = "jwks",
    responses((status = 200, description = "A JWK set (RFC 7517)", body = Object)),
    security(())
)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let keys: Vec<_> = state.issuer.iter().map(|i| i.key().jwk().clone()).collect();
    Json(serde_json::json!({ "keys": keys })).into_response()
}

/// The issuer's metadata (RFC 8414).
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "oauth",
    operation_id = "authorizationServerMetadata",
    responses((status = 200, description = "Authorization-server metadata", body = ServerMetadata)),
    security(())
)]
pub async fn metadata(State(state): State<AppState>) -> Json<ServerMetadata> {
    let base = &state.public_url;
    let issuer = state
        .issuer
        .as_ref()
        .map_or_else(|| base.to_string(), |i| i.issuer().to_owned());
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
    Json(ServerMetadata {
        issuer,
        token_endpoint: format!("{base}/oauth/token"),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        grant_types_supported: strings(&["client_credentials"]),
        token_endpoint_auth_methods_supported: strings(&[
            "client_secret_basic",
            "client_secret_post",
        ]),
        scopes_supported: strings(&["read", "write", "admin"]),
        response_types_supported: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn basic(raw: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(raw))).unwrap()
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let (id, secret) = parse_basic(&basic("pos%3A1:a+b%25")).unwrap();
        assert_eq!(id, "pos:1");
        assert_eq!(secret.expose_secret(), "a b%");
        assert!(parse_basic(&basic("no-colon")).is_err());
        assert!(parse_basic(&HeaderValue::from_static("Bearer x")).is_err());
    }

    #[test]
    fn exactly_one_authentication_method() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, basic("a:b"));
        let both = client_credentials(&headers, Some("a".into()), Some("b".into()));
        assert_eq!(both.unwrap_err().error, "invalid_request");
        let none = client_credentials(&HeaderMap::new(), None, None);
        assert_eq!(none.unwrap_err().error, "invalid_client");
        let post = client_credentials(&HeaderMap::new(), Some("a".into()), Some("b".into()));
        assert_eq!(post.unwrap().0, "a");
    }
}
