//! `GET /receipts/{receiptID}` and `GET /transactions/{transactionID}/receipts`: the terminal's
//! printer output, per copy.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use eps_core::ids::ReceiptId;
use utoipa::OpenApi;

use crate::auth::Read;
use crate::dto::receipt::{ReceiptListResponse, ReceiptResponse};
use crate::dto::status::{ErrorResponse, StatusReturn};
use crate::dto::transaction_request::transaction_id;
use crate::error::ApiResult;
use crate::extract::Session;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/receipts/{receiptID}", get(show_receipt))
        .route(
            "/transactions/{transactionID}/receipts",
            get(transaction_receipts),
        )
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(show_receipt, transaction_receipts))]
pub struct Doc;

/// Show a receipt.
///
/// A receipt copy of the caller's site, as `receiptAvailableEvent` names it: the customer,
/// merchant or journal copy of a transaction, or a reconciliation report.
#[utoipa::path(
    get,
    path = "/receipts/{receiptID}",
    tag = "payments",
    operation_id = "showReceipt",
    params(
        ("receiptID" = String, Path, description = "The receipt id"),
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
    ),
    responses(
        (status = 200, description = "The receipt", body = ReceiptResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `read`), `ERRCD_FORBIDDEN`; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`, `ERRCD_NOT_FOUND` (no such receipt of the caller's site)", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
    ),
    security(("oauth2" = ["read"]))
)]
pub async fn show_receipt(
    session: Session<Read>,
    Path(id): Path<String>,
    State(state): State<AppState>,
) -> ApiResult<Json<ReceiptResponse>> {
    let id = ReceiptId::parse(&id).map_err(|_| eps_core::Error::NotFound("receipt"))?;
    let receipt = state
        .payments
        .receipt(&session.connection.merchant_id, &id)
        .await?;
    Ok(Json(ReceiptResponse {
        status_return: StatusReturn::success(state.clock.now()),
        receipt: (&receipt).into(),
    }))
}

/// List a transaction's receipts.
///
/// Every receipt copy the terminal printed for a transaction of the caller's site, oldest
/// first (reprints collected by recovery included).
#[utoipa::path(
    get,
    path = "/transactions/{transactionID}/receipts",
    tag = "payments",
    operation_id = "listTransactionReceipts",
    params(
        ("transactionID" = String, Path, description = "The transaction id"),
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
    ),
    responses(
        (status = 200, description = "The receipts", body = ReceiptListResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `read`), `ERRCD_FORBIDDEN`; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`, `ERRCD_UNKNOWN_TRANSACTION`", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
    ),
    security(("oauth2" = ["read"]))
)]
pub async fn transaction_receipts(
    session: Session<Read>,
    Path(id): Path<String>,
    State(state): State<AppState>,
) -> ApiResult<Json<ReceiptListResponse>> {
    let id = transaction_id(&id)?;
    let receipts = state
        .payments
        .transaction_receipts(&session.connection.merchant_id, &id)
        .await?;
    Ok(Json(ReceiptListResponse {
        status_return: StatusReturn::success(state.clock.now()),
        receipts: receipts.iter().map(Into::into).collect(),
    }))
}
