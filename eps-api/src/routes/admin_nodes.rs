//! `/admin/nodes`: the EPS nodes serving this installation (this node, until several nodes
//! share a store).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::auth::{Admin, Auth};
use crate::dto::admin_node::{LOCAL_NODE, NodeBody, NodeList};
use crate::dto::status::{ErrorResponse, StatusReturn, format_timestamp};
use crate::error::ApiResult;
use crate::state::AppState;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/nodes", get(list_nodes))
}

/// The OpenAPI part of this resource.
#[derive(OpenApi)]
#[openapi(paths(list_nodes))]
pub struct Doc;

/// List nodes.
///
/// Every EPS node with its version, store, start time and the terminals it drives.
#[utoipa::path(
    get,
    path = "/admin/nodes",
    tag = "admin",
    operation_id = "adminListNodes",
    responses(
        (status = 200, description = "The nodes", body = NodeList),
        (status = 401, description = "`ERRCD_UNAUTHORIZED`", body = ErrorResponse),
        (status = 403, description = "`ERRCD_INSUFFICIENT_SCOPE` (needs `admin`)", body = ErrorResponse),
    ),
    security(("oauth2" = ["admin"]))
)]
pub async fn list_nodes(
    _: Auth<Admin>,
    State(state): State<AppState>,
) -> ApiResult<Json<NodeList>> {
    let terminals = state.payments.terminal_views().await?;
    Ok(Json(NodeList {
        status_return: StatusReturn::success(state.clock.now()),
        nodes: vec![NodeBody {
            node_id: LOCAL_NODE.to_owned(),
            this: "yes".to_owned(),
            url: state.public_url.to_string(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            store: state.store.backend().to_owned(),
            started_at: format_timestamp(state.started_at),
            terminal_ids: terminals
                .iter()
                .map(|t| t.poi.terminal_id.to_string())
                .collect(),
        }],
    }))
}
