//! `POST /refunds`: return money to a card, standalone or against an approved payment.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use eps_core::payments::TransactionRequest;
use eps_core::transaction::TransactionKind;
use utoipa::OpenApi;

use crate::auth::Write;
use crate::card;
use crate::dto::status::ErrorResponse;
use crate::dto::transaction::{PoiBusyResponse, TransactionResponse};
use crate::dto::transaction_request::{RefundRequest, reference, transaction_id};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Keyed, Prefer, Session};
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/refunds", post(create_refund))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(create_refund))]
pub struct Doc;

/// Start a refund (Refund/Return).
///
/// Returns `amount` to the card presented at the POI. With `originalTransactionID` it refers to
/// an approved payment or completion of the caller's site (its POI unless another is named):
/// the refunds of one original, counting those still running or `unknown`, never exceed its
/// amount in total, in its currency, and none is taken while a reversal of it is open or
/// approved. The original keeps the approved refunds' sum (`refundedAmount`) and becomes
/// `refunded` once fully refunded, in the commit of the refund's outcome. Answers as
/// `POST /payments` does (202 within the terminal's connect timeout plus 2 s, `pending` or
/// `inProgress`; 200; 503 when nothing could be sent; `Prefer: wait`; `Idempotency-Key` or
/// `posTransactionID`).
#[utoipa::path(
    post,
    path = "/refunds",
    tag = "payments",
    operation_id = "createRefund",
    params(
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
            description = "Same key and body: the same refund, never a second one; same key, other body: 409. Or send `posTransactionID` in the body (both only with the same value)"),
        ("Prefer" = Option<String>, Header, nullable = false,
            description = "`wait=N` (1..120): block up to N seconds for the outcome"),
    ),
    request_body = RefundRequest,
    responses(
        (status = 200, description = "The outcome", body = TransactionResponse),
        (status = 202, description = "On the terminal (`inProgress`), or still `pending` after the terminal's connect timeout plus 2 s; the outcome follows", body = TransactionResponse,
            headers(("Location" = String, description = "/transactions/{transactionID}"))),
        (status = 400, description = "`ERRCD_BADREQUEST` (also `Idempotency-Key` and `posTransactionID` different), `ERRCD_INVALID_AMOUNT` (also: another currency than the original's)", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `write`), `ERRCD_FORBIDDEN`; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`, `ERRCD_UNKNOWN_POI`, `ERRCD_UNKNOWN_TRANSACTION` (the original)", body = ErrorResponse),
        (status = 409, description = "`ERRCD_POI_BUSY`, `ERRCD_POI_BLOCKED` (the terminal has a transaction of unknown outcome: `blockingTransactionID`), `ERRCD_FOLLOW_UP_CONFLICT` (a reversal of the original is open or approved, or the refunds approved, running or unknown would exceed it: `blockingTransactionID`, the message names each), `ERRCD_IDEMPOTENCY_MISMATCH`, `ERRCD_INVALID_STATE` (the original is not an approved payment or completion, or the amount alone exceeds it)", body = PoiBusyResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
        (status = 503, description = "`ERRCD_POI_UNAVAILABLE`: nothing was sent; the transaction is `failed`", body = TransactionResponse),
    ),
    security(("oauth2" = ["write"]))
)]
pub async fn create_refund(
    session: Session<Write>,
    State(state): State<AppState>,
    prefer: Prefer,
    Keyed { body, idempotency }: Keyed<RefundRequest>,
) -> ApiResult<Response> {
    let caller = card::caller(&session);
    let original_id = body
        .original_transaction_id
        .as_deref()
        .map(transaction_id)
        .transpose()?;
    let poi_id = body.poi.resolve(&state.sites, &caller.merchant_id)?;
    if poi_id.is_none() && original_id.is_none() {
        return Err(ApiError::BadRequest(
            "poiID (or logicalID with workstationType) is required without originalTransactionID"
                .to_owned(),
        ));
    }
    let request = TransactionRequest {
        kind: TransactionKind::Refund,
        amount: Some(body.amount.positive()?),
        poi_id,
        original_id,
        reference: reference(body.reference)?,
        caller,
        idempotency,
    };
    card::start(&state, request, prefer).await
}
