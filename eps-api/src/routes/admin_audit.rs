//! `/admin/audit`: the log of operator actions and client changes, and the one helper every
//! audited route records through.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use eps_core::audit::{AuditAction, AuditOutcome};
use utoipa::OpenApi;

use crate::auth::{Admin, Auth};
use crate::dto::audit::{AuditList, AuditListQuery};
use crate::dto::status::{ErrorResponse, StatusReturn};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/audit", get(list_audit))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(list_audit))]
pub struct Doc;

/// Read the audit log.
///
/// Every operator action (resolutions, forced disconnects, terminal Login, Logoff and
/// Diagnosis) and client change (`eps client add`, `grant`, `revoke`, `remove`): who, when,
/// what, why and the result. Newest first, filtered by `actor`, `action`, `target` and time
/// (`from` inclusive, `to` exclusive), `limit` per page (1..100, default 20); `next` names the
/// following page while there may be one.
#[utoipa::path(
    get,
    path = "/admin/audit",
    tag = "admin",
    operation_id = "adminListAudit",
    params(AuditListQuery),
    responses(
        (status = 200, description = "A page of the audit log", body = AuditList),
        (status = 400, description = "`ERRCD_BADREQUEST`: a filter is malformed (the message names it)", body = ErrorResponse),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn list_audit(
    _: Auth<Admin>,
    State(state): State<AppState>,
    query: Result<Query<AuditListQuery>, QueryRejection>,
) -> ApiResult<Json<AuditList>> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (filter, limit) = query.check()?;
    let mut page = state.audit.entries(&filter).await?;
    let more = page.len() > limit as usize;
    page.truncate(limit as usize);
    let next = match page.last() {
        Some(last) if more => Some(query.next_link(limit, last.seq)),
        _ => None,
    };
    Ok(Json(AuditList {
        status_return: StatusReturn::success(state.clock.now()),
        entries: page.iter().map(Into::into).collect(),
        next,
    }))
}

/// Records an operator's action in the audit log before it is answered. A failure to record is
/// logged as an error (the action itself is already durable and is answered as it ended).
pub(crate) async fn audit(
    state: &AppState,
    actor: &str,
    action: AuditAction,
    target: &str,
    reason: Option<&str>,
    outcome: AuditOutcome,
    detail: &str,
) {
    if let Err(error) = state
        .audit
        .record(actor, action, target, reason, outcome, detail)
        .await
    {
        tracing::error!(%error, action = action.as_str(), target, "the audit log could not record an operator action");
    }
}
