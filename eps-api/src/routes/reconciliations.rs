//! `POST /reconciliations` and `GET /reconciliations/{reconciliationID}`: end-of-day totals
//! from a POI's terminal, with or without closing its batch.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use eps_core::ids::{MerchantId, ReconciliationId};
use eps_core::payments::{ReconciliationRequest as DomainRequest, UNREACHABLE};
use eps_core::reconciliation::{ReconciliationRecord, ReconciliationState};
use utoipa::OpenApi;

use crate::auth::{Read, Write};
use crate::card::{self, PREFERENCE_APPLIED};
use crate::dto::reconciliation::{
    ReconciliationBody, ReconciliationRequest, ReconciliationResponse,
};
use crate::dto::status::{ErrorResponse, StatusReturn};
use crate::dto::transaction::PoiBusyResponse;
use crate::error::{ApiResult, ErrorCode, RETRY_AFTER_UNAVAILABLE_SECS};
use crate::extract::{Keyed, Prefer, Session};
use crate::idempotency::REPLAYED_HEADER;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reconciliations", post(create_reconciliation))
        .route(
            "/reconciliations/{reconciliationID}",
            get(show_reconciliation),
        )
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(create_reconciliation, show_reconciliation))]
pub struct Doc;

/// Start a reconciliation.
///
/// Asks the POI's terminal for its totals (`closure: "yes"` also closes its batch: end of day).
/// Runs like a card operation, one at a time per terminal. Answers `202` with `Location:
/// /reconciliations/{reconciliationID}` at once; `reconciliationCompletionEvent` tells when it
/// ended. With `Prefer: wait=N` (1..120) it answers `200` once it ended (`503
/// ERRCD_POI_UNAVAILABLE` if the terminal could not be reached). A repeat with the same
/// `Idempotency-Key` (or `posTransactionID`, e.g. the POS's day-end number) and body returns the
/// same reconciliation and closes no second batch.
#[utoipa::path(
    post,
    path = "/reconciliations",
    tag = "payments",
    operation_id = "createReconciliation",
    params(
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
            description = "Same key and body: the same reconciliation, never a second one; same key, other body: 409. Or send `posTransactionID` in the body (both only with the same value)"),
        ("Prefer" = Option<String>, Header, nullable = false,
            description = "`wait=N` (1..120): block up to N seconds for the totals"),
    ),
    request_body = ReconciliationRequest,
    responses(
        (status = 200, description = "It ended (with `Prefer: wait`)", body = ReconciliationResponse),
        (status = 202, description = "Started", body = ReconciliationResponse,
            headers(("Location" = String, description = "/reconciliations/{reconciliationID}"))),
        (status = 400, description = "`ERRCD_BADREQUEST` (also `Idempotency-Key` and `posTransactionID` different)", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `write`), `ERRCD_FORBIDDEN`; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`, `ERRCD_UNKNOWN_POI`", body = ErrorResponse),
        (status = 409, description = "`ERRCD_POI_BUSY`, `ERRCD_POI_BLOCKED` (the terminal has a transaction of unknown outcome: `blockingTransactionID`; no totals are taken or closed until it is settled), `ERRCD_IDEMPOTENCY_MISMATCH`", body = PoiBusyResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
        (status = 503, description = "`ERRCD_POI_UNAVAILABLE` (with `Prefer: wait`): nothing was sent", body = ReconciliationResponse),
    ),
    security(("oauth2" = ["write"]))
)]
pub async fn create_reconciliation(
    session: Session<Write>,
    State(state): State<AppState>,
    prefer: Prefer,
    Keyed { body, idempotency }: Keyed<ReconciliationRequest>,
) -> ApiResult<Response> {
    let caller = card::caller(&session);
    let merchant = caller.merchant_id.clone();
    let poi_id = body.poi.required(&state.sites, &merchant)?;
    let (mut record, replayed) = state
        .payments
        .start_reconciliation(DomainRequest {
            caller,
            poi_id,
            closure: body.closure.is_yes(),
            idempotency,
        })
        .await?;
    if !replayed {
        tracing::info!(reconciliation = %record.id, poi = %poi_id, closure = body.closure.is_yes(), "reconciliation started");
    }
    if let Some(secs) = prefer.wait {
        record = state
            .payments
            .wait_reconciliation(&merchant, &record.id, Duration::from_secs(secs))
            .await?;
    }
    let mut response = answer(&state, &merchant, &record, prefer).await?;
    if replayed {
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Show a reconciliation.
///
/// A reconciliation of the caller's site with its totals and the report receipts. With
/// `Prefer: wait=N` (1..120) the call waits up to N seconds for it to end.
#[utoipa::path(
    get,
    path = "/reconciliations/{reconciliationID}",
    tag = "payments",
    operation_id = "showReconciliation",
    params(
        ("reconciliationID" = String, Path, description = "The reconciliation id"),
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
        ("Prefer" = Option<String>, Header, nullable = false,
            description = "`wait=N` (1..120): wait up to N seconds for it to end"),
    ),
    responses(
        (status = 200, description = "The reconciliation", body = ReconciliationResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `read`), `ERRCD_FORBIDDEN`; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`, `ERRCD_NOT_FOUND`", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
    ),
    security(("oauth2" = ["read"]))
)]
pub async fn show_reconciliation(
    session: Session<Read>,
    Path(id): Path<String>,
    State(state): State<AppState>,
    prefer: Prefer,
) -> ApiResult<Response> {
    let id =
        ReconciliationId::parse(&id).map_err(|_| eps_core::Error::NotFound("reconciliation"))?;
    let merchant = &session.connection.merchant_id;
    let record = match prefer.wait {
        Some(secs) => {
            state
                .payments
                .wait_reconciliation(merchant, &id, Duration::from_secs(secs))
                .await?
        }
        None => state.payments.reconciliation(merchant, &id).await?,
    };
    let body = body(&state, merchant, &record).await?;
    let mut response = Json(ReconciliationResponse {
        status_return: StatusReturn::success(state.clock.now()),
        reconciliation: body,
    })
    .into_response();
    if let Some(applied) = prefer
        .applied()
        .and_then(|v| HeaderValue::from_str(&v).ok())
    {
        response.headers_mut().insert(PREFERENCE_APPLIED, applied);
    }
    Ok(response)
}

async fn body(
    state: &AppState,
    merchant: &MerchantId,
    record: &ReconciliationRecord,
) -> ApiResult<ReconciliationBody> {
    let receipts = state
        .payments
        .reconciliation_receipts(merchant, &record.id)
        .await?;
    Ok(ReconciliationBody::new(record, &receipts))
}

/// 503 when nothing could be sent, 202 while it runs, 200 once it ended.
async fn answer(
    state: &AppState,
    merchant: &MerchantId,
    record: &ReconciliationRecord,
    prefer: Prefer,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let unsent = record.state == ReconciliationState::Failed
        && record.result_code.as_deref() == Some(UNREACHABLE);
    let running = matches!(
        record.state,
        ReconciliationState::Pending | ReconciliationState::InProgress
    );
    let (status, status_return) = if unsent {
        let code = ErrorCode::PoiUnavailable;
        let message = record
            .reason
            .as_ref()
            .map_or_else(|| code.meaning().to_owned(), ToString::to_string);
        (code.status(), StatusReturn::failure(code, message))
    } else if running {
        let accepted = StatusReturn {
            message: "Accepted: the terminal is working on it; GET the Location for the totals"
                .to_owned(),
            ..StatusReturn::success(now)
        };
        (StatusCode::ACCEPTED, accepted)
    } else {
        (StatusCode::OK, StatusReturn::success(now))
    };
    let reconciliation = body(state, merchant, record).await?;
    let mut response = (
        status,
        Json(ReconciliationResponse {
            status_return,
            reconciliation,
        }),
    )
        .into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&format!("/reconciliations/{}", record.id)) {
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
    Ok(response)
}
