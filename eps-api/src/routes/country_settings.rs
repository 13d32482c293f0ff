//! `/countrySettings` (the public `dca` tag): a site system sets and reads its site's country
//! settings. The path and the body's example are public; the methods (`POST` to set, `GET` to
//! read) and the answers are inferred (spec/DEVIATIONS.md).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::auth::{Read, Write};
use crate::dto::country::{CountrySettingsRequest, CountrySettingsResponse};
use crate::dto::status::{ErrorResponse, StatusReturn};
use crate::error::ApiResult;
use crate::extract::{ApiJson, Session};
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/countrySettings",
        post(set_country_settings).get(show_country_settings),
    )
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(set_country_settings, show_country_settings))]
pub struct Doc;

/// Set the site's country settings.
///
/// Country settings are configuration parameters of the site: the unit of fuel volumes, the
/// country, the language and the local currencies. They are stored for the connection's site
/// (replacing earlier ones) before the answer, and read back with `GET /countrySettings`.
#[utoipa::path(
    post,
    path = "/countrySettings",
    tag = "dca",
    operation_id = "setCountrySettings",
    params(("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
        description = "connectionIDType (1..1024 characters): the connectionID returned by connect")),
    request_body = CountrySettingsRequest,
    responses(
        (status = 200, description = "Stored; the settings as stored", body = CountrySettingsResponse),
        (status = 400, description = "`ERRCD_BADREQUEST`: a setting is malformed (the message names it)", body = ErrorResponse),
    ),
    security(("oauth2" = ["write"]))
)]
pub async fn set_country_settings(
    session: Session<Write>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CountrySettingsRequest>,
) -> ApiResult<Json<CountrySettingsResponse>> {
    let settings = body.country_settings.into_domain()?;
    let merchant = &session.connection.merchant_id;
    let record =
        eps_core::country::save(state.store.as_ref(), merchant, settings, state.clock.now())
            .await?;
    tracing::info!(merchant = %merchant, settings = %record.settings, "country settings set");
    Ok(Json(CountrySettingsResponse::new(
        StatusReturn::success(state.clock.now()),
        &record,
    )))
}

/// Show the site's country settings.
///
/// The settings last set for the connection's site; 404 `ERRCD_NOT_FOUND` while none were set.
#[utoipa::path(
    get,
    path = "/countrySettings",
    tag = "dca",
    operation_id = "showCountrySettings",
    params(("openretailing-connection-id" = String, Header, min_length = 1, max_length = 1024,
        description = "connectionIDType (1..1024 characters): the connectionID returned by connect")),
    responses(
        (status = 200, description = "The site's settings", body = CountrySettingsResponse),
        (status = 404, description = "`ERRCD_UNKNOWN_CONNECTION`; `ERRCD_NOT_FOUND`: no settings were set for this site", body = ErrorResponse),
    ),
    security(("oauth2" = ["read"]))
)]
pub async fn show_country_settings(
    session: Session<Read>,
    State(state): State<AppState>,
) -> ApiResult<Json<CountrySettingsResponse>> {
    let record =
        eps_core::country::load(state.store.as_ref(), &session.connection.merchant_id).await?;
    Ok(Json(CountrySettingsResponse::new(
        StatusReturn::success(state.clock.now()),
        &record,
    )))
}
