//! The `ERRCD_*` codes of `statusReturn.error`, each with its HTTP status.
//!
//! `ERRCD_OK` and `ERRCD_BADREQUEST` are attested in public Open Retailing material; every other
//! code is ours (listed in `spec/DEVIATIONS.md`). To add one: a variant, its line in
//! [`ErrorCode::ALL`] and in the three tables below, and a row in `spec/DEVIATIONS.md` (a test
//! checks the document lists every code).

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `statusReturn.error`: what happened, as a stable machine-readable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum ErrorCode {
    /// The operation succeeded.
    #[serde(rename = "ERRCD_OK")]
    Ok,
    /// A field, header or body is malformed or outside its limits; the message names it.
    #[serde(rename = "ERRCD_BADREQUEST")]
    BadRequest,
    /// No bearer token, or one that is invalid, expired or for another audience.
    #[serde(rename = "ERRCD_UNAUTHORIZED")]
    Unauthorized,
    /// The token lacks the scope the route requires.
    #[serde(rename = "ERRCD_INSUFFICIENT_SCOPE")]
    InsufficientScope,
    /// The connection belongs to another OAuth2 client.
    #[serde(rename = "ERRCD_FORBIDDEN")]
    Forbidden,
    /// The connection id is not known (never issued, disconnected or forgotten): connect again.
    #[serde(rename = "ERRCD_UNKNOWN_CONNECTION")]
    UnknownConnection,
    /// The connection missed too many heartbeats: connect again.
    #[serde(rename = "ERRCD_CONNECTION_EXPIRED")]
    ConnectionExpired,
    /// `siteSystemIDs` has no `merchantID` entry with `current: "yes"`.
    #[serde(rename = "ERRCD_NO_CURRENT_SITE")]
    NoCurrentSite,
    /// The `merchantID` presented is not a configured site.
    #[serde(rename = "ERRCD_UNKNOWN_SITE")]
    UnknownSite,
    /// The client is not granted the site (at connect, or on a connection since a revoke).
    #[serde(rename = "ERRCD_SITE_NOT_GRANTED")]
    SiteNotGranted,
    /// No such route or resource.
    #[serde(rename = "ERRCD_NOT_FOUND")]
    NotFound,
    /// The route exists but not with this method.
    #[serde(rename = "ERRCD_METHOD_NOT_ALLOWED")]
    MethodNotAllowed,
    /// The body is not `application/json`.
    #[serde(rename = "ERRCD_UNSUPPORTED_MEDIA_TYPE")]
    UnsupportedMediaType,
    /// The body is larger than 64 KiB.
    #[serde(rename = "ERRCD_PAYLOAD_TOO_LARGE")]
    PayloadTooLarge,
    /// The POI is unknown or not one of the caller's site.
    #[serde(rename = "ERRCD_UNKNOWN_POI")]
    UnknownPoi,
    /// The transaction is unknown or not one of the caller's site.
    #[serde(rename = "ERRCD_UNKNOWN_TRANSACTION")]
    UnknownTransaction,
    /// An amount is malformed or not allowed.
    #[serde(rename = "ERRCD_INVALID_AMOUNT")]
    InvalidAmount,
    /// The request is well formed but not allowed in the resource's current state.
    #[serde(rename = "ERRCD_INVALID_STATE")]
    InvalidState,
    /// The POI's terminal is running another card operation; retry later.
    #[serde(rename = "ERRCD_POI_BUSY")]
    PoiBusy,
    /// The POI's terminal cannot be reached; nothing was sent to it.
    #[serde(rename = "ERRCD_POI_UNAVAILABLE")]
    PoiUnavailable,
    /// The POI's terminal has a transaction of unknown outcome; it takes nothing new until
    /// recovery or an operator settles that one (`blockingTransactionID`).
    #[serde(rename = "ERRCD_POI_BLOCKED")]
    PoiBlocked,
    /// Another follow-up of the same original (`blockingTransactionID`) does not allow this one.
    #[serde(rename = "ERRCD_FOLLOW_UP_CONFLICT")]
    FollowUpConflict,
    /// The idempotency key (`Idempotency-Key` or `posTransactionID`) was already used with a
    /// different request.
    #[serde(rename = "ERRCD_IDEMPOTENCY_MISMATCH")]
    IdempotencyMismatch,
    /// A concurrent request changed the resource first; retry.
    #[serde(rename = "ERRCD_CONFLICT")]
    Conflict,
    /// The database cannot be reached; retry later.
    #[serde(rename = "ERRCD_STORAGE_UNAVAILABLE")]
    StorageUnavailable,
    /// The EPS is not ready to serve (readiness check failed).
    #[serde(rename = "ERRCD_NOT_READY")]
    NotReady,
    /// An unexpected server error; details are in the server log only.
    #[serde(rename = "ERRCD_INTERNAL")]
    Internal,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: &'static [Self] = &[
        Self::Ok,
        Self::BadRequest,
        Self::Unauthorized,
        Self::InsufficientScope,
        Self::Forbidden,
        Self::UnknownConnection,
        Self::ConnectionExpired,
        Self::NoCurrentSite,
        Self::UnknownSite,
        Self::SiteNotGranted,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::UnknownPoi,
        Self::UnknownTransaction,
        Self::InvalidAmount,
        Self::InvalidState,
        Self::PoiBusy,
        Self::PoiUnavailable,
        Self::PoiBlocked,
        Self::FollowUpConflict,
        Self::IdempotencyMismatch,
        Self::Conflict,
        Self::StorageUnavailable,
        Self::NotReady,
        Self::Internal,
    ];

    /// The code as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ERRCD_OK",
            Self::BadRequest => "ERRCD_BADREQUEST",
            Self::Unauthorized => "ERRCD_UNAUTHORIZED",
            Self::InsufficientScope => "ERRCD_INSUFFICIENT_SCOPE",
            Self::Forbidden => "ERRCD_FORBIDDEN",
            Self::UnknownConnection => "ERRCD_UNKNOWN_CONNECTION",
            Self::ConnectionExpired => "ERRCD_CONNECTION_EXPIRED",
            Self::NoCurrentSite => "ERRCD_NO_CURRENT_SITE",
            Self::UnknownSite => "ERRCD_UNKNOWN_SITE",
            Self::SiteNotGranted => "ERRCD_SITE_NOT_GRANTED",
            Self::NotFound => "ERRCD_NOT_FOUND",
            Self::MethodNotAllowed => "ERRCD_METHOD_NOT_ALLOWED",
            Self::UnsupportedMediaType => "ERRCD_UNSUPPORTED_MEDIA_TYPE",
            Self::PayloadTooLarge => "ERRCD_PAYLOAD_TOO_LARGE",
            Self::UnknownPoi => "ERRCD_UNKNOWN_POI",
            Self::UnknownTransaction => "ERRCD_UNKNOWN_TRANSACTION",
            Self::InvalidAmount => "ERRCD_INVALID_AMOUNT",
            Self::InvalidState => "ERRCD_INVALID_STATE",
            Self::PoiBusy => "ERRCD_POI_BUSY",
            Self::PoiUnavailable => "ERRCD_POI_UNAVAILABLE",
            Self::PoiBlocked => "ERRCD_POI_BLOCKED",
            Self::FollowUpConflict => "ERRCD_FOLLOW_UP_CONFLICT",
            Self::IdempotencyMismatch => "ERRCD_IDEMPOTENCY_MISMATCH",
            Self::Conflict => "ERRCD_CONFLICT",
            Self::StorageUnavailable => "ERRCD_STORAGE_UNAVAILABLE",
            Self::NotReady => "ERRCD_NOT_READY",
            Self::Internal => "ERRCD_INTERNAL",
        }
    }

    /// The HTTP status a response with this code carries.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::Ok => StatusCode::OK,
            Self::BadRequest | Self::NoCurrentSite | Self::UnknownSite | Self::InvalidAmount => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope | Self::Forbidden | Self::SiteNotGranted => {
                StatusCode::FORBIDDEN
            }
            Self::UnknownConnection
            | Self::NotFound
            | Self::UnknownPoi
            | Self::UnknownTransaction => StatusCode::NOT_FOUND,
            Self::ConnectionExpired => StatusCode::GONE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidState
            | Self::PoiBusy
            | Self::PoiBlocked
            | Self::FollowUpConflict
            | Self::IdempotencyMismatch
            | Self::Conflict => StatusCode::CONFLICT,
            Self::PoiUnavailable | Self::StorageUnavailable | Self::NotReady => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the code means, for documentation.
    pub const fn meaning(self) -> &'static str {
        match self {
            Self::Ok => "The operation succeeded.",
            Self::BadRequest => {
                "A field, header or body is malformed or outside its limits; the message names it."
            }
            Self::Unauthorized => {
                "No bearer token, or an invalid, expired or foreign one (`WWW-Authenticate: Bearer`)."
            }
            Self::InsufficientScope => "The token lacks the scope the route requires.",
            Self::Forbidden => "The connection belongs to another OAuth2 client.",
            Self::UnknownConnection => {
                "The connection id is unknown (never issued, disconnected or forgotten): connect again."
            }
            Self::ConnectionExpired => "The connection missed too many heartbeats: connect again.",
            Self::NoCurrentSite => {
                "`siteSystemIDs` has no `merchantID` entry with `current: \"yes\"`."
            }
            Self::UnknownSite => "The `merchantID` presented is not a configured site.",
            Self::SiteNotGranted => {
                "The client is not granted this site (at connect, or on a connection since a revoke); the message names the site."
            }
            Self::NotFound => "No such route or resource.",
            Self::MethodNotAllowed => "The route exists but not with this method.",
            Self::UnsupportedMediaType => "The body is not `application/json`.",
            Self::PayloadTooLarge => "The body is larger than 64 KiB.",
            Self::UnknownPoi => "The POI is unknown or not one of the caller's site.",
            Self::UnknownTransaction => {
                "The transaction is unknown or not one of the caller's site."
            }
            Self::InvalidAmount => "An amount is malformed or not allowed.",
            Self::InvalidState => "Not allowed in the resource's current state.",
            Self::PoiBusy => "The POI's terminal is running another card operation; retry later.",
            Self::PoiUnavailable => "The POI's terminal cannot be reached; nothing was sent to it.",
            Self::PoiBlocked => {
                "The POI's terminal has a transaction of unknown outcome (`blockingTransactionID`); \
                 it takes no new card request or reconciliation until recovery or an operator \
                 settles that one."
            }
            Self::FollowUpConflict => {
                "Another follow-up of the same original (`blockingTransactionID`; the message names \
                 all) does not allow this completion, reversal or refund."
            }
            Self::IdempotencyMismatch => {
                "The idempotency key (`Idempotency-Key` or `posTransactionID`) was already used with a different request."
            }
            Self::Conflict => "A concurrent request changed the resource first; retry.",
            Self::StorageUnavailable => "The database cannot be reached; retry later.",
            Self::NotReady => "The EPS is not ready to serve (readiness check failed).",
            Self::Internal => "An unexpected server error; details are in the server log only.",
        }
    }

    /// A Markdown table of every code, its HTTP status and meaning (for the OpenAPI document).
    pub fn markdown_table() -> String {
        let mut table = String::from("| error | HTTP status | meaning |\n|---|---|---|\n");
        for code in Self::ALL {
            table.push_str(&format!(
                "| `{}` | {} | {} |\n",
                code.as_str(),
                code.status().as_u16(),
                code.meaning()
            ));
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde_and_are_prefixed() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str());
            assert!(code.as_str().starts_with("ERRCD_"));
        }
    }

    #[test]
    fn all_lists_every_code_once() {
        let mut names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        // The schema's enum is derived from the variants: it must have the same number.
        let schema = serde_json::to_value(<ErrorCode as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(
            schema["enum"].as_array().map(Vec::len),
            Some(ErrorCode::ALL.len())
        );
    }
}
