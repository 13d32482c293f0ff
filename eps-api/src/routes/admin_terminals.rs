//! `/admin/terminals`: operators see each terminal's live status and send it a Login, Logoff or
//! Diagnosis through its worker (busy while a card operation runs, as for payments).

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use eps_core::audit::{AuditAction, AuditOutcome};
use eps_core::ids::TerminalId;
use eps_core::terminal::TerminalService;
use utoipa::OpenApi;

use crate::auth::{Admin, Auth};
use crate::dto::admin_terminal::{
    AdminTerminalList, AdminTerminalResponse, TerminalServiceResponse, result_name,
};
use crate::dto::status::{ErrorResponse, StatusReturn};
use crate::error::{ApiError, ApiResult};
use crate::routes::admin_audit::audit;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/terminals", get(list_terminals))
        .route("/admin/terminals/{terminalID}", get(show_terminal))
        .route("/admin/terminals/{terminalID}/login", post(login))
        .route("/admin/terminals/{terminalID}/logoff", post(logoff))
        .route("/admin/terminals/{terminalID}/diagnosis", post(diagnosis))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(list_terminals, show_terminal, login, logoff, diagnosis))]
pub struct Doc;

/// List terminals.
///
/// Every terminal this EPS drives with its live status: link (up or down, since when, the last
/// error), session, the running transaction, the transaction whose outcome is unknown, the last
/// Diagnosis and the owning node. `poiStatusEvent`s on `GET /admin/events` tell when to look
/// again.
#[utoipa::path(
    get,
    path = "/admin/terminals",
    tag = "admin",
    operation_id = "adminListTerminals",
    responses(
        (status = 200, description = "The terminals", body = AdminTerminalList),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn list_terminals(
    _: Auth<Admin>,
    State(state): State<AppState>,
) -> ApiResult<Json<AdminTerminalList>> {
    let views = state.payments.terminal_views().await?;
    Ok(Json(AdminTerminalList {
        status_return: StatusReturn::success(state.clock.now()),
        terminals: views.iter().map(Into::into).collect(),
    }))
}

/// Show a terminal.
#[utoipa::path(
    get,
    path = "/admin/terminals/{terminalID}",
    tag = "admin",
    operation_id = "adminShowTerminal",
    params(("terminalID" = String, Path, description = "The configured terminal id")),
    responses(
        (status = 200, description = "The terminal", body = AdminTerminalResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
        (status = 404, description = "`ERRCD_NOT_FOUND`: no such terminal", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn show_terminal(
    _: Auth<Admin>,
    Path(id): Path<String>,
    State(state): State<AppState>,
) -> ApiResult<Json<AdminTerminalResponse>> {
    let view = state.payments.terminal_view(&terminal_id(&id)?).await?;
    Ok(Json(AdminTerminalResponse {
        status_return: StatusReturn::success(state.clock.now()),
        terminal: (&view).into(),
    }))
}

/// Log a terminal in.
///
/// Sends the terminal's session start (Login, or its profile's ActivateTerminal) now and
/// answers with the terminal's result. Recorded in the audit log.
#[utoipa::path(
    post,
    path = "/admin/terminals/{terminalID}/login",
    tag = "admin",
    operation_id = "adminTerminalLogin",
    params(("terminalID" = String, Path, description = "The configured terminal id")),
    responses(
        (status = 200, description = "The terminal answered (its result may be a refusal)", body = TerminalServiceResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
        (status = 404, description = "`ERRCD_NOT_FOUND`: no such terminal", body = ErrorResponse),
        (status = 409, description = "`ERRCD_POI_BUSY`: a card operation or reconciliation runs; `Retry-After` says when to try again", body = ErrorResponse),
        (status = 503, description = "`ERRCD_POI_UNAVAILABLE`: the terminal could not be reached or its answer was lost", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn login(
    auth: Auth<Admin>,
    Path(id): Path<String>,
    State(state): State<AppState>,
) -> ApiResult<Json<TerminalServiceResponse>> {
    serve(auth, &id, &state, TerminalService::Login).await
}

/// Log a terminal off.
///
/// Sends the terminal's session end (Logoff, or DeactivateTerminal) now. The EPS logs the
/// terminal in again before its next card request or health check. Recorded in the audit log.
#[utoipa::path(
    post,
    path = "/admin/terminals/{terminalID}/logoff",
    tag = "admin",
    operation_id = "adminTerminalLogoff",
    params(("terminalID" = String, Path, description = "The configured terminal id")),
    responses(
        (status = 200, description = "The terminal answered (its result may be a refusal)", body = TerminalServiceResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
        (status = 404, description = "`ERRCD_NOT_FOUND`: no such terminal", body = ErrorResponse),
        (status = 409, description = "`ERRCD_POI_BUSY`: a card operation or reconciliation runs; `Retry-After` says when to try again", body = ErrorResponse),
        (status = 503, description = "`ERRCD_POI_UNAVAILABLE`: the terminal could not be reached or its answer was lost", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn logoff(
    auth: Auth<Admin>,
    Path(id): Path<String>,
    State(state): State<AppState>,
) -> ApiResult<Json<TerminalServiceResponse>> {
    serve(auth, &id, &state, TerminalService::Logoff).await
}

/// Run a Diagnosis.
///
/// Asks the terminal (and through it its host) whether it works, now; the answer becomes the
/// terminal's last Diagnosis. Recorded in the audit log.
#[utoipa::path(
    post,
    path = "/admin/terminals/{terminalID}/diagnosis",
    tag = "admin",
    operation_id = "adminTerminalDiagnosis",
    params(("terminalID" = String, Path, description = "The configured terminal id")),
    responses(
        (status = 200, description = "The terminal answered (its result may be a failure)", body = TerminalServiceResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
        (status = 404, description = "`ERRCD_NOT_FOUND`: no such terminal", body = ErrorResponse),
        (status = 409, description = "`ERRCD_POI_BUSY`: a card operation or reconciliation runs; `Retry-After` says when to try again", body = ErrorResponse),
        (status = 503, description = "`ERRCD_POI_UNAVAILABLE`: the terminal could not be reached or its answer was lost", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn diagnosis(
    auth: Auth<Admin>,
    Path(id): Path<String>,
    State(state): State<AppState>,
) -> ApiResult<Json<TerminalServiceResponse>> {
    serve(auth, &id, &state, TerminalService::Diagnosis).await
}

/// Sends `service` to the terminal `id` and records it in the audit log.
async fn serve(
    Auth { caller, .. }: Auth<Admin>,
    id: &str,
    state: &AppState,
    service: TerminalService,
) -> ApiResult<Json<TerminalServiceResponse>> {
    let terminal = terminal_id(id)?;
    let action = match service {
        TerminalService::Diagnosis => AuditAction::TerminalDiagnosis,
        TerminalService::Login => AuditAction::TerminalLogin,
        TerminalService::Logoff => AuditAction::TerminalLogoff,
    };
    let answered = state.payments.terminal_service(&terminal, service).await;
    let (outcome, detail) = match &answered {
        Ok(result) => (
            AuditOutcome::Success,
            format!("terminal answered {}", result_name(result)),
        ),
        Err(error) => (AuditOutcome::Failure, error.to_string()),
    };
    audit(
        state,
        caller.client_id.as_str(),
        action,
        terminal.as_str(),
        None,
        outcome,
        &detail,
    )
    .await;
    let result = answered?;
    let view = state.payments.terminal_view(&terminal).await?;
    Ok(Json(TerminalServiceResponse::new(
        StatusReturn::success(state.clock.now()),
        service,
        &result,
        (&view).into(),
    )))
}

/// A path id; anything that cannot be a configured terminal id is unknown.
fn terminal_id(id: &str) -> Result<TerminalId, ApiError> {
    TerminalId::parse(id).map_err(|_| eps_core::Error::NotFound("terminal").into())
}
