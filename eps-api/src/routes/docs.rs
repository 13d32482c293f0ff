//! `/openapi.json` (the document `spec/openapi.json` is generated from) and `/docs` (Swagger UI,
//! served from files compiled into the binary).

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::openapi;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .merge(SwaggerUi::new("/docs").config(Config::new(["/openapi.json"])))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(openapi_json))]
pub struct Doc;

/// This API's OpenAPI document.
///
/// As this server runs: `servers` is its public URL, and with an external issuer the built-in
/// issuer's routes are not listed.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object, content_type = "application/json")),
    security(())
)]
pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    let issuer = openapi::Issuer::of(&state.settings.auth);
    (
        [(CONTENT_TYPE, "application/json")],
        openapi::served_json(&state.public_url, &issuer).to_string(),
    )
}
