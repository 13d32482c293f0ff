//! `statusReturn`, the block every response carries, and the timestamps the API writes.

use std::future::Future;

use eps_core::clock::{Clock, SharedClock, SystemClock};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use utoipa::ToSchema;

use crate::error::ErrorCode;

/// Timestamps written by the API: UTC, milliseconds, `Z` (24 characters).
const TIMESTAMP: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

tokio::task_local! {
    /// The server's clock, set around each request so error bodies are stamped by it too.
    static RESPONSE_CLOCK: SharedClock;
}

/// Runs `request` with `clock` as the clock error responses are stamped with.
pub(crate) async fn with_response_clock<F: Future>(clock: SharedClock, request: F) -> F::Output {
    RESPONSE_CLOCK.scope(clock, request).await
}

/// The current time of the request's server (the system clock outside a request).
pub(crate) fn response_now() -> OffsetDateTime {
    RESPONSE_CLOCK
        .try_with(|clock| clock.now())
        .unwrap_or_else(|_| SystemClock.now())
}

/// Formats a time as the API writes it, e.g. `2026-01-01T12:00:00.000Z`.
pub fn format_timestamp(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(TIMESTAMP)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// `statusReturn.result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The operation succeeded (`error` is `ERRCD_OK`).
    Success,
    /// The operation failed (`error` says why).
    Failure,
}

/// The status block of every response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "timestamp": "2026-01-01T12:00:00.000Z",
    "result": "success",
    "error": "ERRCD_OK",
    "message": "Operation completed successfully"
}))]
pub struct StatusReturn {
    /// When the EPS answered (UTC).
    #[schema(min_length = 10, max_length = 30, format = DateTime)]
    pub timestamp: String,
    /// `success` or `failure`.
    pub result: Outcome,
    /// The code; `ERRCD_OK` on success.
    pub error: ErrorCode,
    /// A human-readable explanation naming the offending field where there is one.
    pub message: String,
}

impl StatusReturn {
    /// The success block, stamped `now`.
    pub fn success(now: OffsetDateTime) -> Self {
        Self {
            timestamp: format_timestamp(now),
            result: Outcome::Success,
            error: ErrorCode::Ok,
            message: "Operation completed successfully".to_owned(),
        }
    }

    /// A failure block stamped by the request's clock.
    pub fn failure(error: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            timestamp: format_timestamp(response_now()),
            result: Outcome::Failure,
            error,
            message: message.into(),
        }
    }
}

/// A response that carries only `statusReturn` (disconnect, errors).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"statusReturn": {
    "timestamp": "2026-01-01T12:00:00.000Z",
    "result": "failure",
    "error": "ERRCD_BADREQUEST",
    "message": "transmissionID: must be between 0 and 99999999"
}}))]
pub struct ErrorResponse {
    /// The status block; `result` is `failure`.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
}

#[cfg(test)]
mod tests {
    use eps_core::clock::ManualClock;
    use std::sync::Arc;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn timestamps_are_utc_milliseconds() {
        let at = datetime!(2026-03-01 10:20:30.123456 +02:00);
        assert_eq!(format_timestamp(at), "2026-03-01T08:20:30.123Z");
    }

    #[tokio::test]
    async fn failures_are_stamped_by_the_request_clock() {
        let clock = ManualClock::new(datetime!(2030-01-01 00:00 UTC));
        let status = with_response_clock(Arc::new(clock), async {
            StatusReturn::failure(ErrorCode::NotFound, "x")
        })
        .await;
        assert_eq!(status.timestamp, "2030-01-01T00:00:00.000Z");
        assert_eq!(status.result, Outcome::Failure);
    }
}
