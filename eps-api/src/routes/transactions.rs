//! `GET /transactions/{transactionID}` (optionally waiting for the outcome) and
//! `GET /transactions` (the caller's site's, filtered and paged).

use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use eps_core::transaction::TransactionQuery;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use utoipa::OpenApi;

use crate::auth::Read;
use crate::card::PREFERENCE_APPLIED;
use crate::dto::status::{ErrorResponse, StatusReturn};
use crate::dto::transaction::{TransactionListResponse, TransactionResponse};
use crate::dto::transaction_request::{TransactionListQuery, transaction_id};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Prefer, Session};
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/transactions", get(list_transactions))
        .route("/transactions/{transactionID}", get(show_transaction))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(show_transaction, list_transactions))]
pub struct Doc;

/// Show a transaction.
///
/// A transaction of the caller's site (another site's is unknown). With `Prefer: wait=N`
/// (1..120) the call waits up to N seconds for it to leave `pending`, `inProgress` and `unknown`
/// (whatever ends it: the terminal, recovery, an operator), then answers as it stands.
#[utoipa::path(
    get,
    path = "/transactions/{transactionID}",
    tag = "payments",
    operation_id = "showTransaction",
    params(
        ("transactionID" = String, Path, description = "The transaction id"),
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
        ("Prefer" = Option<String>, Header, nullable = false,
            description = "`wait=N` (1..120): wait up to N seconds for an outcome"),
    ),
    responses(
        (status = 200, description = "The transaction", body = TransactionResponse),
        (status = 400, description = "`ERRCD_BADREQUEST` (`Prefer` malformed)", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `read`), `ERRCD_FORBIDDEN`; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`, `ERRCD_UNKNOWN_TRANSACTION`", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
    ),
    security(("oauth2" = ["read"]))
)]
pub async fn show_transaction(
    session: Session<Read>,
    Path(id): Path<String>,
    State(state): State<AppState>,
    prefer: Prefer,
) -> ApiResult<Response> {
    let id = transaction_id(&id)?;
    let merchant = &session.connection.merchant_id;
    let record = match prefer.wait {
        Some(secs) => {
            state
                .payments
                .wait_resolved(merchant, &id, Duration::from_secs(secs))
                .await?
        }
        None => state.payments.transaction(merchant, &id).await?,
    };
    let mut response = Json(TransactionResponse {
        status_return: StatusReturn::success(state.clock.now()),
        transaction: (&record).into(),
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

/// List transactions.
///
/// The transactions of the caller's site, newest first, filtered by `state`, `poiID` and
/// creation time (`from` inclusive, `to` exclusive), `limit` per page (1..100, default 20).
/// `next` names the following page (the same filters with `before` set) while there may be one.
#[utoipa::path(
    get,
    path = "/transactions",
    tag = "payments",
    operation_id = "listTransactions",
    params(
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
        TransactionListQuery,
    ),
    responses(
        (status = 200, description = "A page of transactions", body = TransactionListResponse),
        (status = 400, description = "`ERRCD_BADREQUEST`: a filter is malformed (the message names it)", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `read`), `ERRCD_FORBIDDEN`; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
    ),
    security(("oauth2" = ["read"]))
)]
pub async fn list_transactions(
    session: Session<Read>,
    State(state): State<AppState>,
    query: Result<Query<TransactionListQuery>, QueryRejection>,
) -> ApiResult<Json<TransactionListResponse>> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let filter = query.check()?;
    let mut page = state
        .payments
        .transactions(&TransactionQuery {
            merchant_id: session.connection.merchant_id.clone(),
            state: filter.state,
            poi_id: filter.poi_id,
            created_from: filter.from,
            created_to: filter.to,
            before: filter.before,
            // One more than asked: whether a next page exists.
            limit: filter.limit + 1,
        })
        .await?;
    let more = page.len() > filter.limit as usize;
    page.truncate(filter.limit as usize);
    let next = match page.last() {
        Some(last) if more => Some(next_link(&query, filter.limit, &last.id.to_string())),
        _ => None,
    };
    Ok(Json(TransactionListResponse {
        status_return: StatusReturn::success(state.clock.now()),
        transactions: page.iter().map(Into::into).collect(),
        next,
    }))
}

/// The link of the page after `before`, with the same filters.
fn next_link(query: &TransactionListQuery, limit: u32, before: &str) -> String {
    let mut pairs = vec![("limit", limit.to_string())];
    for (name, value) in [
        ("state", &query.state),
        ("poiID", &query.poi_id),
        ("from", &query.from),
        ("to", &query.to),
    ] {
        if let Some(value) = value {
            pairs.push((name, value.clone()));
        }
    }
    pairs.push(("before", before.to_owned()));
    let query: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, NON_ALPHANUMERIC)))
        .collect();
    format!("/transactions?{}", query.join("&"))
}
