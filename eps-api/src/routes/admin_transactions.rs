//! `/admin/transactions`: operators search every site's transactions, inspect one with its
//! journal and receipts, and resolve one the EPS left `unknown` (recorded in the audit log).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use eps_core::audit::{AuditAction, AuditOutcome};
use eps_core::ids::TransactionId;
use utoipa::OpenApi;

use crate::auth::{Admin, Auth};
use crate::dto::admin_search::{AdminTransactionList, AdminTransactionQuery};
use crate::dto::admin_transaction::{AdminTransactionResponse, ResolutionRequest};
use crate::dto::status::{ErrorResponse, StatusReturn};
use crate::dto::transaction_request::transaction_id;
use crate::error::{ApiError, ApiResult};
use crate::extract::Keyed;
use crate::idempotency;
use crate::routes::admin_audit::audit;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/transactions", get(list_transactions))
        .route("/admin/transactions/{transactionID}", get(show_transaction))
        .route(
            "/admin/transactions/{transactionID}/resolution",
            post(resolve_transaction),
        )
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(list_transactions, show_transaction, resolve_transaction))]
pub struct Doc;

/// Search transactions.
///
/// Every site's transactions, newest first, filtered by site (`merchantID`), `poiID`, `state`,
/// `type`, creation time (`from` inclusive, `to` exclusive) and requested amount (`minAmount`,
/// `maxAmount`, both inclusive, in `currency`); `limit` per page (1..100, default 20). With
/// `state=unknown` the list is the queue of outcomes waiting for a person, oldest first. `next`
/// names the following page while there may be one.
#[utoipa::path(
    get,
    path = "/admin/transactions",
    tag = "admin",
    operation_id = "adminListTransactions",
    params(AdminTransactionQuery),
    responses(
        (status = 200, description = "A page of transactions", body = AdminTransactionList),
        (status = 400, description = "`ERRCD_BADREQUEST`: a filter is malformed (the message names it)", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn list_transactions(
    _: Auth<Admin>,
    State(state): State<AppState>,
    query: Result<Query<AdminTransactionQuery>, QueryRejection>,
) -> ApiResult<Json<AdminTransactionList>> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (search, limit) = query.check()?;
    let mut page = state.payments.search(&search).await?;
    let more = page.len() > limit as usize;
    page.truncate(limit as usize);
    let next = match page.last() {
        Some(last) if more => Some(query.next_link(limit, &last.id.to_string())),
        _ => None,
    };
    Ok(Json(AdminTransactionList {
        status_return: StatusReturn::success(state.clock.now()),
        transactions: page.iter().map(Into::into).collect(),
        next,
    }))
}

/// Show a transaction with its journal, receipts and OPI trace.
///
/// Any site's transaction, with who asked for it, the OPI RequestID the terminal knows it by,
/// every journalled step, every receipt copy and the OPI trace: the XML exchanged with the
/// terminal for it on channel 0 and channel 1 (card numbers masked, secret input answers as
/// `****`).
#[utoipa::path(
    get,
    path = "/admin/transactions/{transactionID}",
    tag = "admin",
    operation_id = "adminShowTransaction",
    params(("transactionID" = String, Path, description = "The transaction id")),
    responses(
        (status = 200, description = "The transaction, its journal, receipts and OPI trace", body = AdminTransactionResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_TRANSACTION`", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn show_transaction(
    _: Auth<Admin>,
    Path(id): Path<String>,
    State(state): State<AppState>,
) -> ApiResult<Json<AdminTransactionResponse>> {
    let id = transaction_id(&id)?;
    Ok(Json(view(&state, &id).await?))
}

/// Resolve an unknown transaction.
///
/// For a transaction left `unknown` (the EPS could not prove its outcome from the terminal),
/// an operator who checked the terminal's own records sets `approved` (with the terminal's trace
/// number `stan`, and `approvalCode` when shown), `declined` or `failed`, with a note that is
/// kept in the journal and, as the reason, in the audit log. The original of an approved completion, reversal
/// or refund is settled as if the terminal had answered. Refused while recovery is running on
/// it, and for any other state.
#[utoipa::path(
    post,
    path = "/admin/transactions/{transactionID}/resolution",
    tag = "admin",
    operation_id = "adminResolveTransaction",
    params(
        ("transactionID" = String, Path, description = "The unknown transaction"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
            description = "Same key and body: the first answer again; same key, other body: 409"),
    ),
    request_body = ResolutionRequest,
    responses(
        (status = 200, description = "Resolved; the transaction and its journal", body = AdminTransactionResponse),
        (status = 400, description = "`ERRCD_BADREQUEST`: `state` or `note` missing or malformed, `stan` missing with `approved` or given without it", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_TRANSACTION`", body = ErrorResponse),
        (status = 409, description = "`ERRCD_INVALID_STATE` (not `unknown`, or recovery is running), `ERRCD_CONFLICT` (recovery changed it meanwhile), `ERRCD_IDEMPOTENCY_MISMATCH`", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn resolve_transaction(
    Auth { caller, .. }: Auth<Admin>,
    Path(id): Path<String>,
    State(state): State<AppState>,
    Keyed { body, idempotency }: Keyed<ResolutionRequest>,
) -> ApiResult<Response> {
    let id = transaction_id(&id)?;
    let resolution = body.resolution()?;
    let note = body.note()?.to_owned();
    let operator = caller.client_id;
    idempotency::once(&state, &operator, idempotency, async {
        let resolved = state
            .payments
            .resolve(&id, resolution, &operator, &note)
            .await;
        match resolved {
            Ok(record) => {
                tracing::warn!(transaction = %id, operator = %operator, state = %record.state, "transaction resolved by an operator");
                let detail = format!("resolved to {}", record.state);
                audit(&state, operator.as_str(), AuditAction::ResolveTransaction, &id.to_string(), Some(&note), AuditOutcome::Success, &detail).await;
                match view(&state, &id).await {
                    Ok(view) => Json(view).into_response(),
                    Err(err) => err.into_response(),
                }
            }
            Err(err) => {
                audit(&state, operator.as_str(), AuditAction::ResolveTransaction, &id.to_string(), Some(&note), AuditOutcome::Failure, &err.to_string()).await;
                ApiError::from(err).into_response()
            }
        }
    })
    .await
}

async fn view(state: &AppState, id: &TransactionId) -> ApiResult<AdminTransactionResponse> {
    let record = state.payments.find(id).await?;
    let journal = state.payments.journal(id).await?;
    let receipts = state
        .payments
        .transaction_receipts(&record.merchant_id, id)
        .await?;
    let trace = state.payments.trace(id).await?;
    Ok(AdminTransactionResponse::new(
        StatusReturn::success(state.clock.now()),
        &record,
        &journal,
        &receipts,
        &trace,
    ))
}
