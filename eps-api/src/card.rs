//! What every route that starts a card transaction shares: the caller, the start itself, the
//! optional wait, and the answer — 202 with `Location` while the terminal works, 200 with the
//! outcome, 503 `ERRCD_POI_UNAVAILABLE` when nothing could be sent.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use eps_core::payments::{Caller, TransactionRequest, UNREACHABLE};
use eps_core::transaction::{TransactionRecord, TransactionState};

use crate::dto::status::StatusReturn;
use crate::dto::transaction::TransactionResponse;
use crate::error::{ApiResult, ErrorCode, RETRY_AFTER_UNAVAILABLE_SECS};
use crate::extract::{Prefer, Session};
use crate::idempotency::REPLAYED_HEADER;
use crate::state::AppState;

/// The header naming the preferences a response honoured (RFC 7240).
pub const PREFERENCE_APPLIED: &str = "preference-applied";

/// The domain's caller of a session.
pub fn caller<S>(session: &Session<S>) -> Caller {
    Caller {
        client_id: session.caller.client_id.clone(),
        connection_id: session.connection.id,
        merchant_id: session.connection.merchant_id.clone(),
    }
}

/// Starts `request` (or finds the transaction its idempotency key created), waits as `prefer`
/// asks, and answers.
pub async fn start(
    state: &AppState,
    request: TransactionRequest,
    prefer: Prefer,
) -> ApiResult<Response> {
    let merchant = request.caller.merchant_id.clone();
    let started = state.payments.start(request).await?;
    let mut record = started.transaction;
    if let Some(secs) = prefer.wait
        && (state.payments.is_running(&record.id) || record.state.is_unresolved())
    {
        record = state
            .payments
            .wait_final(&merchant, &record.id, Duration::from_secs(secs))
            .await?;
    }
    let mut response = answer(state, &record, prefer);
    if started.replayed {
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The answer for `record`: 503 when it failed unsent, 202 while it runs, 200 once it ended;
/// `Location` names it.
pub fn answer(state: &AppState, record: &TransactionRecord, prefer: Prefer) -> Response {
    let now = state.clock.now();
    let unsent = record.state == TransactionState::Failed
        && record.result_code.as_deref() == Some(UNREACHABLE);
    let running = state.payments.is_running(&record.id)
        || matches!(
            record.state,
            TransactionState::Pending | TransactionState::InProgress
        );
    let (status, status_return) = if unsent {
        let code = ErrorCode::PoiUnavailable;
        let message = record
            .reason
            .as_ref()
            .map_or_else(|| code.meaning().to_owned(), ToString::to_string);
        (code.status(), StatusReturn::failure(code, message))
    } else if running {
        let message = if record.state == TransactionState::Pending {
            "Accepted: stored, not yet on the terminal (it may still be logging in); \
             GET the Location for the outcome"
        } else {
            "Accepted: the terminal is working on it; GET the Location for the outcome"
        };
        let accepted = StatusReturn {
            message: message.to_owned(),
            ..StatusReturn::success(now)
        };
        (StatusCode::ACCEPTED, accepted)
    } else {
        (StatusCode::OK, StatusReturn::success(now))
    };
    let body = TransactionResponse {
        status_return,
        transaction: record.into(),
    };
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&format!("/transactions/{}", record.id)) {
        headers.insert(header::LOCATION, location);
    }
    if unsent {
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(RETRY_AFTER_UNAVAILABLE_SECS),
        );
    }
    if let Some(applied) = prefer
        .applied()
        .and_then(|v| HeaderValue::from_str(&v).ok())
    {
        headers.insert(PREFERENCE_APPLIED, applied);
    }
    response
}
