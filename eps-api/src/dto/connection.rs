//! `POST /connection` and `DELETE /connection` bodies, exactly as the public schema shows them,
//! with every limit checked before conversion to the domain's [`ConnectRequest`].

use eps_core::connection::{ConnectRequest, SiteSystemId, Vendor};
use eps_core::ids::TransmissionId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::status::StatusReturn;
use crate::dto::strict;
use crate::dto::timestamp;
pub use crate::dto::yes_no::YesNo;
use crate::error::{ApiError, ApiResult};

/// Most `siteSystemIDs` entries accepted (`alternateIDArray`).
pub const MAX_SITE_SYSTEM_IDS: usize = 100;

/// The connect (and heartbeat) request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "transmissionID": 123456,
    "vendor": {"vendorName": "Some vendor", "vendorModel": "The vendor's model", "vendorModelVersion": "1.0.0"},
    "timestamp": "2021-04-08T05:20:00",
    "applicationName": "OpenRetailing Site System",
    "applicationSoftwareVersion": "01.00.00",
    "siteSystemIDs": [
        {"id": "1234567890", "idType": "merchantID", "current": "yes"},
        {"id": "123", "idType": "terminalID", "current": "yes"},
        {"id": "0987654321", "idType": "merchantID", "current": "no"}
    ]
}))]
pub struct ConnectBody {
    /// `integerUnsigned8BaseType`: 8 digit numeric value; a repeat from the same client within
    /// one heartbeat interval returns the same `connectionID`.
    #[serde(rename = "transmissionID", deserialize_with = "strict::integer")]
    #[schema(value_type = u32, minimum = 0, maximum = 99999999)]
    pub transmission_id: i64,
    /// The site system's software vendor.
    #[serde(default, deserialize_with = "strict::object")]
    #[schema(nullable = false)]
    pub vendor: Option<VendorBody>,
    /// `dateTimeType`: the client's time, with or without offset and fraction.
    #[schema(min_length = 10, max_length = 30, format = DateTime)]
    pub timestamp: String,
    /// `description100BaseType`.
    #[serde(default)]
    #[schema(max_length = 100, nullable = false)]
    pub application_name: Option<String>,
    /// `description8BaseType`.
    #[serde(default)]
    #[schema(max_length = 8, nullable = false)]
    pub application_software_version: Option<String>,
    /// `alternateIDArray`: the ids the site system acts as; the `merchantID` with
    /// `current: "yes"` selects the site.
    #[serde(rename = "siteSystemIDs")]
    #[schema(min_items = 1, max_items = 100)]
    pub site_system_ids: Vec<SiteSystemIdBody>,
}

/// `vendor`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VendorBody {
    /// The vendor's name.
    #[serde(default)]
    #[schema(max_length = 100, nullable = false)]
    pub vendor_name: Option<String>,
    /// The product.
    #[serde(default)]
    #[schema(max_length = 100, nullable = false)]
    pub vendor_model: Option<String>,
    /// The product's version.
    #[serde(default)]
    #[schema(max_length = 100, nullable = false)]
    pub vendor_model_version: Option<String>,
}

/// One `siteSystemIDs` entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteSystemIdBody {
    /// The id, e.g. a merchant id.
    #[schema(min_length = 1, max_length = 100, example = "1234567890")]
    pub id: String,
    /// Its kind: `merchantID`, `terminalID`, … (open-ended).
    #[schema(min_length = 1, max_length = 40, example = "merchantID")]
    pub id_type: String,
    /// Whether the caller currently acts as this id.
    pub current: YesNo,
}

/// The connect answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConnectResponse {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The request's `transmissionID`, echoed.
    #[serde(rename = "transmissionID")]
    #[schema(minimum = 0, maximum = 99999999)]
    pub transmission_id: u32,
    /// The connection to send in `openretailing-connection-id` (opaque, 1..1024 characters).
    #[serde(rename = "connectionID")]
    #[schema(
        min_length = 1,
        max_length = 1024,
        example = "40641ee8-8c1b-47cb-9609-70ff4318f7f5"
    )]
    pub connection_id: String,
}

impl ConnectBody {
    /// Checks every limit of the public schema and converts to the domain request.
    pub fn into_domain(self) -> ApiResult<ConnectRequest> {
        let transmission_id = u64::try_from(self.transmission_id)
            .ok()
            .and_then(|v| TransmissionId::new(v).ok())
            .ok_or_else(|| ApiError::field("transmissionID", "must be between 0 and 99999999"))?;
        timestamp::check(&self.timestamp).map_err(|e| ApiError::field("timestamp", e))?;
        check_len("applicationName", self.application_name.as_deref(), 100)?;
        check_len(
            "applicationSoftwareVersion",
            self.application_software_version.as_deref(),
            8,
        )?;
        let vendor = self.vendor.map(VendorBody::into_domain).transpose()?;
        let count = self.site_system_ids.len();
        if !(1..=MAX_SITE_SYSTEM_IDS).contains(&count) {
            return Err(ApiError::field(
                "siteSystemIDs",
                format!("must have 1..{MAX_SITE_SYSTEM_IDS} items (got {count})"),
            ));
        }
        let site_system_ids = self
            .site_system_ids
            .into_iter()
            .enumerate()
            .map(|(i, entry)| entry.into_domain(i))
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(ConnectRequest {
            transmission_id,
            client_timestamp: self.timestamp,
            vendor,
            application_name: self.application_name,
            application_software_version: self.application_software_version,
            site_system_ids,
        })
    }
}

impl VendorBody {
    fn into_domain(self) -> ApiResult<Vendor> {
        check_len("vendor.vendorName", self.vendor_name.as_deref(), 100)?;
        check_len("vendor.vendorModel", self.vendor_model.as_deref(), 100)?;
        check_len(
            "vendor.vendorModelVersion",
            self.vendor_model_version.as_deref(),
            100,
        )?;
        Ok(Vendor {
            name: self.vendor_name,
            model: self.vendor_model,
            model_version: self.vendor_model_version,
        })
    }
}

impl SiteSystemIdBody {
    fn into_domain(self, index: usize) -> ApiResult<SiteSystemId> {
        check_required(&format!("siteSystemIDs[{index}].id"), &self.id, 100)?;
        check_required(&format!("siteSystemIDs[{index}].idType"), &self.id_type, 40)?;
        Ok(SiteSystemId {
            id: self.id,
            id_type: self.id_type,
            current: self.current == YesNo::Yes,
        })
    }
}

impl From<&Vendor> for VendorBody {
    fn from(vendor: &Vendor) -> Self {
        Self {
            vendor_name: vendor.name.clone(),
            vendor_model: vendor.model.clone(),
            vendor_model_version: vendor.model_version.clone(),
        }
    }
}

impl From<&SiteSystemId> for SiteSystemIdBody {
    fn from(entry: &SiteSystemId) -> Self {
        Self {
            id: entry.id.clone(),
            id_type: entry.id_type.clone(),
            current: if entry.current { YesNo::Yes } else { YesNo::No },
        }
    }
}

/// An optional text of at most `max` characters without control characters.
fn check_len(field: &str, value: Option<&str>, max: usize) -> ApiResult<()> {
    let Some(value) = value else { return Ok(()) };
    let len = value.chars().count();
    if len > max {
        return Err(ApiError::field(
            field,
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// A required text of 1..=`max` characters without control characters.
fn check_required(field: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.is_empty() {
        return Err(ApiError::field(field, "must not be empty"));
    }
    check_len(field, Some(value), max)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn spec_example() -> Value {
        json!({
            "transmissionID": 123456,
            "vendor": {"vendorName": "Some vendor", "vendorModel": "The vendor's model",
                       "vendorModelVersion": "1.0.0"},
            "timestamp": "2021-04-08T05:20:00",
            "applicationName": "OpenRetailing Site System",
            "applicationSoftwareVersion": "01.00.00",
            "siteSystemIDs": [
                {"id": "1234567890", "idType": "merchantID", "current": "yes"},
                {"id": "123", "idType": "terminalID", "current": "yes"},
                {"id": "0987654321", "idType": "merchantID", "current": "no"}
            ]
        })
    }

    fn convert(body: Value) -> ApiResult<ConnectRequest> {
        serde_json::from_value::<ConnectBody>(body)
            .expect("shape")
            .into_domain()
    }

    fn message(body: Value) -> String {
        match convert(body) {
            Err(ApiError::BadRequest(message)) => message,
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn the_spec_example_converts() {
        let request = convert(spec_example()).unwrap();
        assert_eq!(request.transmission_id.value(), 123_456);
        assert_eq!(request.site_system_ids.len(), 3);
        assert!(request.site_system_ids[0].current);
        assert!(!request.site_system_ids[2].current);
        assert_eq!(
            request.vendor.unwrap().model_version.as_deref(),
            Some("1.0.0")
        );
    }

    #[test]
    fn each_limit_names_its_field() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("transmissionID", json!(100_000_000), "transmissionID"),
            ("transmissionID", json!(-1), "transmissionID"),
            ("timestamp", json!("2021-04-0"), "timestamp"),
            ("timestamp", json!("2021-04-08T25:20:00"), "timestamp"),
            ("applicationName", json!("x".repeat(101)), "applicationName"),
            (
                "applicationSoftwareVersion",
                json!("123456789"),
                "applicationSoftwareVersion",
            ),
            ("siteSystemIDs", json!([]), "siteSystemIDs"),
            (
                "siteSystemIDs",
                json!(vec![
                    json!({"id": "1", "idType": "merchantID", "current": "no"});
                    101
                ]),
                "siteSystemIDs",
            ),
            (
                "siteSystemIDs",
                json!([{"id": "", "idType": "merchantID", "current": "yes"}]),
                "siteSystemIDs[0].id",
            ),
            (
                "vendor",
                json!({"vendorName": "v".repeat(101)}),
                "vendor.vendorName",
            ),
        ];
        for (field, value, named) in cases {
            let mut body = spec_example();
            body[field] = value;
            let message = message(body);
            assert!(message.starts_with(named), "{named}: {message}");
        }
    }

    #[test]
    fn boundaries_are_inclusive() {
        let mut body = spec_example();
        body["transmissionID"] = json!(99_999_999);
        body["applicationName"] = json!("é".repeat(100));
        body["applicationSoftwareVersion"] = json!("12345678");
        body["timestamp"] = json!("2021-04-08T05:20:00.1234+02:00");
        assert!(convert(body).is_ok());
        let mut body = spec_example();
        body["transmissionID"] = json!(0);
        assert!(convert(body).is_ok());
    }

    #[test]
    fn current_accepts_only_yes_and_no() {
        let mut body = spec_example();
        body["siteSystemIDs"][0]["current"] = json!("true");
        let err = serde_json::from_value::<ConnectBody>(body).unwrap_err();
        assert!(
            err.to_string().contains("must be \"yes\" or \"no\""),
            "{err}"
        );
        let mut body = spec_example();
        body["siteSystemIDs"][0]["current"] = json!(true);
        assert!(serde_json::from_value::<ConnectBody>(body).is_err());
    }
}
