//! EPS nodes as operators see them (`GET /admin/nodes`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::status::StatusReturn;

/// The name of this node until several nodes share a store.
pub const LOCAL_NODE: &str = "local";

/// One EPS node.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeBody {
    /// Its id (`local` while one node serves everything).
    #[serde(rename = "nodeID")]
    pub node_id: String,
    /// `"yes"` for the node that answered.
    #[serde(rename = "self")]
    pub this: String,
    /// Where clients reach it.
    pub url: String,
    /// Its software version.
    pub version: String,
    /// The store engine (`sqlite` or `postgres`).
    pub store: String,
    /// Since when it runs (UTC).
    #[schema(format = DateTime)]
    pub started_at: String,
    /// The terminals it drives.
    #[serde(rename = "terminalIDs")]
    pub terminal_ids: Vec<String>,
}

/// `GET /admin/nodes`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NodeList {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// Every node.
    pub nodes: Vec<NodeBody>,
}
