//! What a site system does to one of its transactions: `completion` of an authorization,
//! `reversal` of an approved transaction, `abort` of a running one.

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use eps_core::ids::{MerchantId, TransactionId};
use eps_core::payments::TransactionRequest;
use eps_core::transaction::TransactionKind;
use utoipa::OpenApi;

use crate::auth::Write;
use crate::card;
use crate::dto::status::ErrorResponse;
use crate::dto::transaction::{PoiBusyResponse, TransactionResponse};
use crate::dto::transaction_request::{
    CompletionRequest, EmptyRequest, ReversalRequest, reference, transaction_id,
};
use crate::error::ApiResult;
use crate::extract::{Keyed, Prefer, Session};
use crate::idempotency;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/transactions/{transactionID}/completion", post(complete))
        .route("/transactions/{transactionID}/reversal", post(reverse))
        .route("/transactions/{transactionID}/abort", post(abort))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(complete, reverse, abort))]
pub struct Doc;

/// Complete an authorization (Completion/FinancialAdvice).
///
/// Settles an approved authorization of the caller's site with the final amount, at most the
/// authorised one and in its currency, on the authorization's POI. The completion is a
/// transaction of its own (`type: completion`); once approved, the authorization becomes
/// `completed` in the same commit. An authorization is completed at most once: refused while
/// another completion of it is open, unknown or approved, or a reversal of it is open or
/// approved. Answers as `POST /payments` does (202 within the terminal's connect timeout plus
/// 2 s; `Idempotency-Key` or `posTransactionID`).
#[utoipa::path(
    post,
    path = "/transactions/{transactionID}/completion",
    tag = "payments",
    operation_id = "completeAuthorization",
    params(
        ("transactionID" = String, Path, description = "The authorization"),
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
            description = "Same key and body: the same completion, never a second one; same key, other body: 409. Or send `posTransactionID` in the body (both only with the same value)"),
        ("Prefer" = Option<String>, Header, nullable = false,
            description = "`wait=N` (1..120): block up to N seconds for the outcome"),
    ),
    request_body = CompletionRequest,
    responses(
        (status = 200, description = "The outcome", body = TransactionResponse),
        (status = 202, description = "On the terminal (`inProgress`), or still `pending` after the terminal's connect timeout plus 2 s; the outcome follows", body = TransactionResponse,
            headers(("Location" = String, description = "/transactions/{transactionID} of the completion"))),
        (status = 400, description = "`ERRCD_BADREQUEST` (also `Idempotency-Key` and `posTransactionID` different), `ERRCD_INVALID_AMOUNT` (also: another currency than the authorization's)", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `write`), `ERRCD_FORBIDDEN`; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`, `ERRCD_UNKNOWN_TRANSACTION`, `ERRCD_UNKNOWN_POI`", body = ErrorResponse),
        (status = 409, description = "`ERRCD_FOLLOW_UP_CONFLICT` (a completion of it exists that is not declined, aborted or failed, or a reversal of it is open or approved: `blockingTransactionID`), `ERRCD_INVALID_STATE` (not an approved authorization; amount above the authorised one; another POI), `ERRCD_POI_BUSY`, `ERRCD_POI_BLOCKED` (the terminal has a transaction of unknown outcome: `blockingTransactionID`), `ERRCD_IDEMPOTENCY_MISMATCH`", body = PoiBusyResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
        (status = 503, description = "`ERRCD_POI_UNAVAILABLE`: nothing was sent", body = TransactionResponse),
    ),
    security(("oauth2" = ["write"]))
)]
pub async fn complete(
    session: Session<Write>,
    Path(id): Path<String>,
    State(state): State<AppState>,
    prefer: Prefer,
    Keyed { body, idempotency }: Keyed<CompletionRequest>,
) -> ApiResult<Response> {
    let caller = card::caller(&session);
    let request = TransactionRequest {
        kind: TransactionKind::Completion,
        amount: Some(body.amount.positive()?),
        poi_id: body.poi.resolve(&state.sites, &caller.merchant_id)?,
        original_id: Some(transaction_id(&id)?),
        reference: reference(body.reference)?,
        caller,
        idempotency,
    };
    card::start(&state, request, prefer).await
}

/// Reverse a transaction (Reversal).
///
/// Cancels an approved payment, authorization, completion or refund of the caller's site, for
/// its whole amount, on its POI. The reversal is a transaction of its own (`type: reversal`);
/// once approved, the original becomes `reversed` in the same commit. Refused while any
/// completion, refund or reversal of the original is open, unknown or approved (a reversal
/// would reverse the whole amount). The body may be empty. Answers as `POST /payments` does
/// (202 within the terminal's connect timeout plus 2 s; `Idempotency-Key` or
/// `posTransactionID`).
#[utoipa::path(
    post,
    path = "/transactions/{transactionID}/reversal",
    tag = "payments",
    operation_id = "reverseTransaction",
    params(
        ("transactionID" = String, Path, description = "The transaction to reverse"),
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
            description = "Same key and body: the same reversal, never a second one; same key, other body: 409. Or send `posTransactionID` in the body (both only with the same value)"),
        ("Prefer" = Option<String>, Header, nullable = false,
            description = "`wait=N` (1..120): block up to N seconds for the outcome"),
    ),
    request_body(content = ReversalRequest, description = "Optional"),
    responses(
        (status = 200, description = "The outcome", body = TransactionResponse),
        (status = 202, description = "On the terminal (`inProgress`), or still `pending` after the terminal's connect timeout plus 2 s; the outcome follows", body = TransactionResponse,
            headers(("Location" = String, description = "/transactions/{transactionID} of the reversal"))),
        (status = 400, description = "`ERRCD_BADREQUEST` (also `Idempotency-Key` and `posTransactionID` different), `ERRCD_INVALID_AMOUNT`", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `write`), `ERRCD_FORBIDDEN`; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`, `ERRCD_UNKNOWN_TRANSACTION`, `ERRCD_UNKNOWN_POI`", body = ErrorResponse),
        (status = 409, description = "`ERRCD_FOLLOW_UP_CONFLICT` (a completion, refund or reversal of it is open or approved: `blockingTransactionID`, the message names each), `ERRCD_INVALID_STATE` (not approved; an amount other than the original's; another POI), `ERRCD_POI_BUSY`, `ERRCD_POI_BLOCKED` (the terminal has a transaction of unknown outcome: `blockingTransactionID`), `ERRCD_IDEMPOTENCY_MISMATCH`", body = PoiBusyResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
        (status = 503, description = "`ERRCD_POI_UNAVAILABLE`: nothing was sent", body = TransactionResponse),
    ),
    security(("oauth2" = ["write"]))
)]
pub async fn reverse(
    session: Session<Write>,
    Path(id): Path<String>,
    State(state): State<AppState>,
    prefer: Prefer,
    Keyed { body, idempotency }: Keyed<ReversalRequest>,
) -> ApiResult<Response> {
    let caller = card::caller(&session);
    let request = TransactionRequest {
        kind: TransactionKind::Reversal,
        amount: body.amount.as_ref().map(|a| a.positive()).transpose()?,
        poi_id: body.poi.resolve(&state.sites, &caller.merchant_id)?,
        original_id: Some(transaction_id(&id)?),
        reference: reference(body.reference)?,
        caller,
        idempotency,
    };
    card::start(&state, request, prefer).await
}

/// Abort a running transaction.
///
/// Asks the terminal to abort the transaction it is running. The terminal decides: the
/// transaction ends `aborted` if the card was not yet authorised, and as the terminal says
/// otherwise. Answers `202` with the transaction as it stands (or, with `Prefer: wait=N`, `200`
/// once it ended). The body may be empty. A repeat with the same `Idempotency-Key` gets the
/// first answer again.
#[utoipa::path(
    post,
    path = "/transactions/{transactionID}/abort",
    tag = "payments",
    operation_id = "abortTransaction",
    params(
        ("transactionID" = String, Path, description = "The running transaction"),
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
            description = "Same key and body: the first answer again; same key, other body: 409"),
        ("Prefer" = Option<String>, Header, nullable = false,
            description = "`wait=N` (1..120): block up to N seconds for the outcome"),
    ),
    request_body(content = EmptyRequest, description = "Optional; empty"),
    responses(
        (status = 200, description = "The transaction ended", body = TransactionResponse),
        (status = 202, description = "The terminal was asked to abort; the outcome follows", body = TransactionResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `write`), `ERRCD_FORBIDDEN`; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`, `ERRCD_UNKNOWN_TRANSACTION`", body = ErrorResponse),
        (status = 409, description = "`ERRCD_INVALID_STATE` (it is not running), `ERRCD_IDEMPOTENCY_MISMATCH`", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
        (status = 503, description = "`ERRCD_POI_UNAVAILABLE`: the abort could not be sent", body = ErrorResponse),
    ),
    security(("oauth2" = ["write"]))
)]
pub async fn abort(
    session: Session<Write>,
    Path(id): Path<String>,
    State(state): State<AppState>,
    prefer: Prefer,
    Keyed {
        body: EmptyRequest {},
        idempotency,
    }: Keyed<EmptyRequest>,
) -> ApiResult<Response> {
    let id = transaction_id(&id)?;
    let merchant = session.connection.merchant_id.clone();
    let client = session.caller.client_id.clone();
    idempotency::once(&state, &client, idempotency, async {
        abort_and_wait(&state, &merchant, &id, prefer)
            .await
            .unwrap_or_else(IntoResponse::into_response)
    })
    .await
}

async fn abort_and_wait(
    state: &AppState,
    merchant: &MerchantId,
    id: &TransactionId,
    prefer: Prefer,
) -> ApiResult<Response> {
    let mut record = state.payments.abort(merchant, id).await?;
    tracing::info!(transaction = %id, "abort requested");
    if let Some(secs) = prefer.wait {
        record = state
            .payments
            .wait_final(merchant, id, Duration::from_secs(secs))
            .await?;
    }
    Ok(card::answer(state, &record, prefer))
}
