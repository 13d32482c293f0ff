//! `GET /POIs`: the caller's site's payment positions.

use eps_core::site::Poi;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::status::StatusReturn;

/// One POI as the public schema shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PoiAddress {
    /// The site's number for the position, unique within its `workstationType`.
    #[serde(rename = "logicalID")]
    #[schema(example = "001")]
    pub logical_id: String,
    /// The EPS-wide id of the POI, stable across restarts.
    #[serde(rename = "poiID")]
    #[schema(example = "3e08c0a1-c08b-41b6-a9b9-78cb81b868d9")]
    pub poi_id: String,
    /// `pointOfService`, `fuelingPoint`, … (open-ended).
    #[serde(rename = "workstationType")]
    #[schema(example = "pointOfService")]
    pub workstation_type: String,
}

/// The answer to `GET /POIs`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PoisResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The POIs of the connection's site, in configuration order.
    #[serde(rename = "poiAddresses")]
    pub poi_addresses: Vec<PoiAddress>,
}

impl From<&Poi> for PoiAddress {
    fn from(poi: &Poi) -> Self {
        Self {
            logical_id: poi.logical_id.clone(),
            poi_id: poi.poi_id.to_string(),
            workstation_type: poi.workstation_type.as_str().to_owned(),
        }
    }
}
