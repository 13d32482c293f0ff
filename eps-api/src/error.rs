//! The API's one error type and the only place that picks HTTP statuses and `ERRCD_*` codes.
//!
//! Every failure becomes `{"statusReturn": {…, "result": "failure", "error": "ERRCD_…"}}`. A 5xx
//! logs its cause and hides it from the body. Token-endpoint errors are not here: they follow
//! RFC 6749 §5.2 (see `routes::oauth`).

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use eps_core::client::Scope;

use crate::dto::status::{ErrorResponse, StatusReturn};
use crate::dto::transaction::PoiBusyResponse;

mod code;

pub use code::ErrorCode;

/// The realm named in `WWW-Authenticate` challenges.
pub const REALM: &str = "eps";

/// `Retry-After` (seconds) of `ERRCD_POI_BUSY`: the terminal runs another card operation.
pub const RETRY_AFTER_BUSY_SECS: u32 = 1;
/// `Retry-After` (seconds) of `ERRCD_POI_UNAVAILABLE`: the terminal could not be reached.
pub const RETRY_AFTER_UNAVAILABLE_SECS: u32 = 5;

/// Result with the API error.
pub type ApiResult<T> = Result<T, ApiError>;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The domain refused or failed.
    #[error(transparent)]
    Domain(#[from] eps_core::Error),
    /// A field, header or body is malformed or outside its limits; the message names it.
    #[error("{0}")]
    BadRequest(String),
    /// No usable bearer token (401 with a `WWW-Authenticate: Bearer` challenge).
    #[error("{}", .0.description)]
    Unauthorized(BearerChallenge),
    /// The token lacks the scope the route requires.
    #[error("this route requires the {0} scope")]
    InsufficientScope(Scope),
    /// No such route or resource.
    #[error("{0}")]
    NotFound(String),
    /// The route does not take this method.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The body has the wrong content type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is over the limit.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// A readiness check failed.
    #[error("not ready: {0}")]
    NotReady(String),
    /// A bug or an unexpected failure; logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The content of a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerChallenge {
    /// `invalid_request` or `invalid_token`; absent when no credentials were sent at all.
    pub error: Option<&'static str>,
    /// Shown in `error_description` and in `statusReturn.message`.
    pub description: String,
}

impl BearerChallenge {
    /// No `Authorization` header was sent.
    pub fn missing() -> Self {
        Self {
            error: None,
            description: "a bearer token is required (Authorization: Bearer <token>)".to_owned(),
        }
    }

    /// The `Authorization` header is not a single bearer token.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            error: Some("invalid_request"),
            description: description.into(),
        }
    }

    /// The token is invalid, expired, or for another issuer or audience.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self {
            error: Some("invalid_token"),
            description: description.into(),
        }
    }

    fn header_value(&self) -> String {
        match self.error {
            None => format!("Bearer realm=\"{REALM}\""),
            Some(error) => format!(
                "Bearer realm=\"{REALM}\", error=\"{error}\", error_description=\"{}\"",
                quoted_string_safe(&self.description)
            ),
        }
    }
}

impl ApiError {
    /// A `BadRequest` for one named field.
    pub fn field(field: &str, problem: impl std::fmt::Display) -> Self {
        Self::BadRequest(format!("{field}: {problem}"))
    }

    /// The code this error is answered with.
    pub fn code(&self) -> ErrorCode {
        use eps_core::Error as D;
        match self {
            Self::Domain(domain) => match domain {
                D::UnknownConnection => ErrorCode::UnknownConnection,
                D::ConnectionExpired => ErrorCode::ConnectionExpired,
                D::ConnectionOfAnotherClient => ErrorCode::Forbidden,
                D::NoCurrentSite => ErrorCode::NoCurrentSite,
                D::UnknownSite(_) => ErrorCode::UnknownSite,
                D::SiteNotGranted(_) => ErrorCode::SiteNotGranted,
                D::UnknownPoi => ErrorCode::UnknownPoi,
                D::UnknownTransaction => ErrorCode::UnknownTransaction,
                D::NotFound(_) => ErrorCode::NotFound,
                D::InvalidAmount { .. } => ErrorCode::InvalidAmount,
                D::InvalidState(_) => ErrorCode::InvalidState,
                D::PoiBusy { .. } => ErrorCode::PoiBusy,
                D::PoiUnavailable { .. } => ErrorCode::PoiUnavailable,
                D::PoiBlocked { .. } => ErrorCode::PoiBlocked,
                D::FollowUpConflict { .. } => ErrorCode::FollowUpConflict,
                D::IdempotencyMismatch { .. } => ErrorCode::IdempotencyMismatch,
                D::Conflict(_) => ErrorCode::Conflict,
                D::Storage(_) => ErrorCode::StorageUnavailable,
                D::Internal(_) => ErrorCode::Internal,
                _ => ErrorCode::Internal,
            },
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::InsufficientScope(_) => ErrorCode::InsufficientScope,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::NotReady(_) => ErrorCode::NotReady,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message shown to the client; server faults are not described.
    fn public_message(&self, code: ErrorCode) -> String {
        match (code, self) {
            (ErrorCode::Internal, _) => "internal error; the cause is in the EPS log".to_owned(),
            (ErrorCode::StorageUnavailable, _) => {
                "the database is unavailable; retry later".to_owned()
            }
            (_, Self::Domain(eps_core::Error::PoiBusy { active: Some(id) })) => {
                format!("{self}: transaction {id} is running; retry later")
            }
            _ => self.to_string(),
        }
    }

    /// The `Retry-After` seconds this error is answered with, if any.
    pub fn retry_after(&self) -> Option<u32> {
        match self.code() {
            ErrorCode::PoiBusy => Some(RETRY_AFTER_BUSY_SECS),
            ErrorCode::PoiUnavailable => Some(RETRY_AFTER_UNAVAILABLE_SECS),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let status = code.status();
        if status.is_server_error() && code != ErrorCode::PoiUnavailable {
            tracing::error!(error = %self, code = code.as_str(), "request failed");
        }
        let status_return = StatusReturn::failure(code, self.public_message(code));
        // 409s that name a transaction: the one running, or the one in the way.
        let named = match &self {
            Self::Domain(eps_core::Error::PoiBusy { active }) => Some((*active, None)),
            Self::Domain(eps_core::Error::PoiBlocked { blocking, .. }) => {
                Some((None, Some(*blocking)))
            }
            Self::Domain(eps_core::Error::FollowUpConflict { blocking, .. }) => {
                Some((None, blocking.first().map(|b| b.id)))
            }
            _ => None,
        };
        let mut response = match named {
            Some((active, blocking)) => {
                let body = PoiBusyResponse {
                    status_return,
                    active_transaction_id: active.map(|id| id.to_string()),
                    blocking_transaction_id: blocking.map(|id| id.to_string()),
                };
                (status, Json(body)).into_response()
            }
            None => (status, Json(ErrorResponse { status_return })).into_response(),
        };
        let challenge = match &self {
            Self::Unauthorized(challenge) => Some(challenge.header_value()),
            Self::InsufficientScope(scope) => Some(format!(
                "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", \
                 error_description=\"this route requires the {scope} scope\", scope=\"{scope}\""
            )),
            _ => None,
        };
        if let Some(value) = challenge.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Makes text safe inside an HTTP quoted-string: printable ASCII without `"` or `\`.
fn quoted_string_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '?',
        })
        .collect()
}

/// The 404 answer for paths no route matches.
pub(crate) async fn route_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

/// The 405 answer for a known path with another method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn domain_errors_map_to_status_and_code() {
        let cases = [
            (
                eps_core::Error::UnknownConnection,
                404,
                "ERRCD_UNKNOWN_CONNECTION",
            ),
            (
                eps_core::Error::ConnectionExpired,
                410,
                "ERRCD_CONNECTION_EXPIRED",
            ),
            (
                eps_core::Error::ConnectionOfAnotherClient,
                403,
                "ERRCD_FORBIDDEN",
            ),
            (
                eps_core::Error::UnknownSite("9".into()),
                400,
                "ERRCD_UNKNOWN_SITE",
            ),
            (
                eps_core::Error::SiteNotGranted(eps_core::ids::MerchantId::parse("555").unwrap()),
                403,
                "ERRCD_SITE_NOT_GRANTED",
            ),
            (
                eps_core::Error::PoiBusy { active: None },
                409,
                "ERRCD_POI_BUSY",
            ),
            (
                eps_core::Error::PoiUnavailable {
                    terminal: eps_core::ids::TerminalId::parse("t").unwrap(),
                    reason: "connection refused".into(),
                },
                503,
                "ERRCD_POI_UNAVAILABLE",
            ),
            (
                eps_core::Error::PoiBlocked {
                    terminal: eps_core::ids::TerminalId::parse("t").unwrap(),
                    blocking: eps_core::ids::TransactionId::generate(),
                    state: eps_core::transaction::TransactionState::Unknown,
                },
                409,
                "ERRCD_POI_BLOCKED",
            ),
            (
                eps_core::Error::FollowUpConflict {
                    original: eps_core::ids::TransactionId::generate(),
                    blocking: Vec::new(),
                    reason: "r".into(),
                },
                409,
                "ERRCD_FOLLOW_UP_CONFLICT",
            ),
        ];
        for (error, status, code) in cases {
            let response = ApiError::from(error).into_response();
            assert_eq!(response.status().as_u16(), status);
            let body = body_of(response).await;
            assert_eq!(body["statusReturn"]["error"], code);
            assert_eq!(body["statusReturn"]["result"], "failure");
        }
    }

    #[tokio::test]
    async fn busy_and_unavailable_say_when_to_retry_and_what_runs() {
        let active = eps_core::ids::TransactionId::generate();
        let response = ApiError::from(eps_core::Error::PoiBusy {
            active: Some(active),
        })
        .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let body = body_of(response).await;
        assert_eq!(body["activeTransactionID"], active.to_string());
        assert!(
            body["statusReturn"]["message"]
                .as_str()
                .unwrap()
                .contains(&active.to_string())
        );
        let response = ApiError::from(eps_core::Error::PoiUnavailable {
            terminal: eps_core::ids::TerminalId::parse("t").unwrap(),
            reason: "connection refused".into(),
        })
        .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
    }

    #[tokio::test]
    async fn refusals_name_the_transaction_in_the_way() {
        let blocking = eps_core::ids::TransactionId::generate();
        let response = ApiError::from(eps_core::Error::PoiBlocked {
            terminal: eps_core::ids::TerminalId::parse("t").unwrap(),
            blocking,
            state: eps_core::transaction::TransactionState::Unknown,
        })
        .into_response();
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
        let body = body_of(response).await;
        assert_eq!(body["blockingTransactionID"], blocking.to_string());
        let message = body["statusReturn"]["message"].as_str().unwrap();
        assert!(message.contains(&blocking.to_string()), "{message}");
        let refund = eps_core::transaction::FollowUpRef {
            id: eps_core::ids::TransactionId::generate(),
            kind: eps_core::transaction::TransactionKind::Refund,
            state: eps_core::transaction::TransactionState::Approved,
            amount: eps_core::money::Amount::parse("40.00", eps_core::money::Currency::EUR)
                .unwrap(),
        };
        let response = ApiError::from(eps_core::Error::FollowUpConflict {
            original: eps_core::ids::TransactionId::generate(),
            blocking: vec![refund.clone()],
            reason: "a reversal needs an original with no approved follow-up".into(),
        })
        .into_response();
        let body = body_of(response).await;
        assert_eq!(body["blockingTransactionID"], refund.id.to_string());
        let message = body["statusReturn"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("refund {} (approved, 40.00 EUR)", refund.id)),
            "{message}"
        );
    }

    #[tokio::test]
    async fn server_faults_hide_their_cause() {
        let response =
            ApiError::from(eps_core::Error::Storage("password=hunter2".into())).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = body_of(response).await;
        assert!(!body.to_string().contains("hunter2"));
        let response = ApiError::Internal("secret detail".into()).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body_of(response).await.to_string().contains("secret"));
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        let response = ApiError::Unauthorized(BearerChallenge::missing()).into_response();
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"eps\""
        );
        let response =
            ApiError::Unauthorized(BearerChallenge::invalid_token("bad \"sig\"")).into_response();
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"eps\", error=\"invalid_token\", error_description=\"bad 'sig'\""
        );
        let response = ApiError::InsufficientScope(Scope::Admin).into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let value = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(value.contains("error=\"insufficient_scope\""));
        assert!(value.contains("scope=\"admin\""));
    }
}
