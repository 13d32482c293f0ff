//! Operator views of connections (`/admin/connections`).

use eps_core::connection::ConnectionRecord;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::dto::connection::{SiteSystemIdBody, VendorBody};
use crate::dto::status::{StatusReturn, format_timestamp};

/// Whether a connection still counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionState {
    /// Heartbeats arrive in time.
    Active,
    /// Too many heartbeats were missed; kept only to answer "expired".
    Expired,
}

/// A connection as operators see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminConnection {
    /// The connection id.
    #[serde(rename = "connectionID")]
    pub connection_id: String,
    /// The OAuth2 client (`sub`) that opened it.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// The site it acts for.
    #[serde(rename = "merchantID")]
    pub merchant_id: String,
    /// The vendor block of the connect.
    pub vendor: Option<VendorBody>,
    /// `applicationName` of the connect.
    pub application_name: Option<String>,
    /// `applicationSoftwareVersion` of the connect.
    pub application_software_version: Option<String>,
    /// `transmissionID` of the connect.
    #[serde(rename = "transmissionID")]
    #[schema(minimum = 0, maximum = 99999999)]
    pub transmission_id: u32,
    /// `siteSystemIDs` of the connect.
    #[serde(rename = "siteSystemIDs")]
    pub site_system_ids: Vec<SiteSystemIdBody>,
    /// The client's `timestamp` on the connect, as sent.
    pub client_timestamp: String,
    /// When it was opened (UTC).
    #[schema(format = DateTime)]
    pub created: String,
    /// When the last heartbeat arrived (UTC).
    #[schema(format = DateTime)]
    pub last_heartbeat: String,
    /// When it expires unless a heartbeat arrives first (UTC).
    #[schema(format = DateTime)]
    pub expires: String,
    /// `active` or `expired`.
    pub state: ConnectionState,
}

impl AdminConnection {
    /// The view of `record` at `now`.
    pub fn new(record: &ConnectionRecord, now: OffsetDateTime) -> Self {
        Self {
            connection_id: record.id.to_string(),
            client_id: record.client_id.to_string(),
            merchant_id: record.merchant_id.to_string(),
            vendor: record.vendor.as_ref().map(VendorBody::from),
            application_name: record.application_name.clone(),
            application_software_version: record.application_software_version.clone(),
            transmission_id: record.transmission_id.value(),
            site_system_ids: record.site_system_ids.iter().map(Into::into).collect(),
            client_timestamp: record.client_timestamp.clone(),
            created: format_timestamp(record.created_at),
            last_heartbeat: format_timestamp(record.last_heartbeat_at),
            expires: format_timestamp(record.expires_at),
            state: if record.expires_at > now {
                ConnectionState::Active
            } else {
                ConnectionState::Expired
            },
        }
    }
}

/// `GET /admin/connections`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminConnectionList {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// Every stored connection, oldest first (expired ones until they are forgotten).
    pub connections: Vec<AdminConnection>,
}

/// `GET` and `DELETE /admin/connections/{connectionID}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminConnectionResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The connection (as it was, for a force-disconnect).
    pub connection: AdminConnection,
}
