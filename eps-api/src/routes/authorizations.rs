//! `POST /authorizations`: reserve an amount on one of the caller's POIs (e.g. before fuelling),
//! settled later by `POST /transactions/{transactionID}/completion`.

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
use crate::dto::transaction_request::{AuthorizationRequest, reference};
use crate::error::ApiResult;
use crate::extract::{Keyed, Prefer, Session};
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/authorizations", post(create_authorization))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(create_authorization))]
pub struct Doc;

/// Start an authorization.
///
/// Reserves `amount` on the card at the POI's terminal; complete it with the final amount
/// (at most the authorised one) or reverse it.
///
/// The transaction is stored (`pending`) before anything is sent. Without `Prefer` the answer is
/// `202 Accepted` with `Location: /transactions/{transactionID}` (follow it, or wait for
/// `transactionUpdatedEvent`) as soon as the request is on the terminal (`inProgress`), and at
/// the latest after the terminal's connect timeout plus 2 s (5 s + 2 s with the default profile)
/// with the transaction still `pending`, e.g. while the terminal takes long over a Login; the
/// outcome follows either way. With `Prefer: wait=N` (1..120) the call blocks up to N seconds for
/// the outcome and answers `200` with it (`202` if it is still running then) and
/// `Preference-Applied`. A terminal that cannot be reached answers `503 ERRCD_POI_UNAVAILABLE`
/// with `Retry-After` and the transaction, which ended `failed` (nothing was sent).
///
/// Retries are safe with an `Idempotency-Key` header or the body's `posTransactionID` (the POS's
/// own reference of this request; send either, or both with the same value): a repeat with the
/// same key and body returns the same transaction without a second terminal request; the same
/// key with another body is 409. Without either, every request is a new one.
#[utoipa::path(
    post,
    path = "/authorizations",
    tag = "payments",
    operation_id = "createAuthorization",
    params(
        ("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
            description = "connectionIDType (1..1024 characters): the connectionID returned by connect"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
            description = "A key of the client's choosing (or send `posTransactionID` in the body; both only with the same value): a repeat with the same key and body gets the same transaction, never a second charge; the same key with another body is refused (409). Kept 24 h (`payments.idempotency_ttl_hours`)."),
        ("Prefer" = Option<String>, Header, nullable = false,
            description = "`wait=N` (1..120): block up to N seconds for the outcome"),
    ),
    request_body = AuthorizationRequest,
    responses(
        (status = 200, description = "The outcome (with `Prefer: wait`, or when it already ended)", body = TransactionResponse,
            headers(("Location" = String, description = "/transactions/{transactionID}"))),
        (status = 202, description = "On the terminal (`inProgress`), or still `pending` after the terminal's connect timeout plus 2 s; the outcome follows", body = TransactionResponse,
            headers(("Location" = String, description = "/transactions/{transactionID}"))),
        (status = 400, description = "`ERRCD_BADREQUEST` (a field, `Prefer`, `Idempotency-Key` or `posTransactionID` malformed, or the last two different; the message names it), `ERRCD_INVALID_AMOUNT` (negative, zero, too many decimals, unknown currency, too large)", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `write`), `ERRCD_FORBIDDEN`: another client's connection; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`, `ERRCD_UNKNOWN_POI` (not a POI of the caller's site)", body = ErrorResponse),
        (status = 409, description = "`ERRCD_POI_BUSY` (with `Retry-After` and `activeTransactionID`), `ERRCD_POI_BLOCKED` (the terminal has a transaction of unknown outcome: `blockingTransactionID`), `ERRCD_IDEMPOTENCY_MISMATCH`", body = PoiBusyResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
        (status = 503, description = "`ERRCD_POI_UNAVAILABLE`: nothing was sent; the transaction is `failed` (with `Retry-After`)", body = TransactionResponse),
    ),
    security(("oauth2" = ["write"]))
)]
pub async fn create_authorization(
    session: Session<Write>,
    State(state): State<AppState>,
    prefer: Prefer,
    Keyed { body, idempotency }: Keyed<AuthorizationRequest>,
) -> ApiResult<Response> {
    let caller = card::caller(&session);
    let poi_id = body.poi.required(&state.sites, &caller.merchant_id)?;
    let request = TransactionRequest {
        kind: TransactionKind::PreAuthorisation,
        amount: Some(body.amount.positive()?),
        poi_id: Some(poi_id),
        original_id: None,
        reference: reference(body.reference)?,
        caller,
        idempotency,
    };
    card::start(&state, request, prefer).await
}
