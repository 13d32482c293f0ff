//! `GET /POIs`: the POIs of the caller's site.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::auth::Read;
use crate::dto::poi::{PoiAddress, PoisResponse};
use crate::dto::status::{ErrorResponse, StatusReturn};
use crate::error::ApiResult;
use crate::extract::Session;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/POIs", get(list_pois))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(list_pois))]
pub struct Doc;

/// List the POIs.
///
/// Retrieve the list of POIs with logical ID that have been registered with the EPS: those of
/// the site the connection presented. This should occur at start-up, registration or if the EPS
/// sends a newPOIEvent.
#[utoipa::path(
    get,
    path = "/POIs",
    tag = "poi",
    operation_id = "listPOIs",
    params(("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
        description = "connectionIDType (1..1024 characters): the connectionID returned by connect")),
    responses(
        (status = 200, description = "The site's POIs", body = PoisResponse),
        (status = 400, description = "`ERRCD_BADREQUEST`: header missing or outside 1..1024 characters; `ERRCD_UNKNOWN_SITE`: the site is no longer configured", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `read`); `ERRCD_FORBIDDEN`: another client's connection; `ERRCD_SITE_NOT_GRANTED`: the connection\'s site is no longer granted to the client", body = ErrorResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`", body = ErrorResponse),
        (status = 410, description = "`ERRCD_CONNECTION_EXPIRED`", body = ErrorResponse),
    ),
    security(("oauth2" = ["read"]))
)]
pub async fn list_pois(
    session: Session<Read>,
    State(state): State<AppState>,
) -> ApiResult<Json<PoisResponse>> {
    let merchant = &session.connection.merchant_id;
    let site = state
        .sites
        .site(merchant)
        .ok_or_else(|| eps_core::Error::UnknownSite(merchant.to_string()))?;
    Ok(Json(PoisResponse {
        status_return: StatusReturn::success(state.clock.now()),
        poi_addresses: site.pois.iter().map(PoiAddress::from).collect(),
    }))
}
