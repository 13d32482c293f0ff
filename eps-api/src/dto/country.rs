//! `/countrySettings` bodies, as the public DCA example writes them:
//! `{"countrySettings": {"volumeUnit": "GLL", "countryCode": "US", "language": "eng",
//! "localCurrencies": ["USD"]}}`.

use eps_core::country::{CountrySettings, CountrySettingsRecord};
use eps_core::money::Currency;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::status::{StatusReturn, format_timestamp};
use crate::error::{ApiError, ApiResult};

/// A site's country settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"volumeUnit": "GLL", "countryCode": "US", "language": "eng", "localCurrencies": ["USD"]}))]
pub struct CountrySettingsBody {
    /// The unit of fuel volumes: a UN/ECE Recommendation 20 code (`GLL` gallons, `LTR` litres).
    #[schema(
        min_length = 1,
        max_length = 3,
        pattern = "^[A-Z0-9]{1,3}$",
        example = "GLL"
    )]
    pub volume_unit: String,
    /// The site's country: ISO 3166-1 alpha-2.
    #[schema(pattern = "^[A-Z]{2}$", example = "US")]
    pub country_code: String,
    /// The site's language: ISO 639-2.
    #[schema(pattern = "^[a-z]{3}$", example = "eng")]
    pub language: String,
    /// The currencies the site takes (active ISO 4217 codes, the main one first), 1..10, no
    /// repeats.
    #[schema(min_items = 1, max_items = 10)]
    pub local_currencies: Vec<String>,
}

/// `POST /countrySettings`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CountrySettingsRequest {
    /// The settings (`countrySettingsObject`).
    pub country_settings: CountrySettingsBody,
}

/// The answer of `GET /countrySettings`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CountrySettingsResponse {
    /// The status block.
    pub status_return: StatusReturn,
    /// The site's settings.
    pub country_settings: CountrySettingsBody,
    /// When they were last set (UTC).
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl CountrySettingsBody {
    /// The domain settings; a refused field is named.
    pub fn into_domain(self) -> ApiResult<CountrySettings> {
        CountrySettings::parse(
            &self.volume_unit,
            &self.country_code,
            &self.language,
            &self.local_currencies,
        )
        .map_err(|e| ApiError::field(e.field, e.problem))
    }
}

impl CountrySettingsResponse {
    /// The answer for a stored record.
    pub fn new(status_return: StatusReturn, record: &CountrySettingsRecord) -> Self {
        let settings = &record.settings;
        Self {
            status_return,
            country_settings: CountrySettingsBody {
                volume_unit: settings.volume_unit.as_str().to_owned(),
                country_code: settings.country_code.as_str().to_owned(),
                language: settings.language.as_str().to_owned(),
                local_currencies: settings
                    .local_currencies
                    .iter()
                    .map(Currency::code)
                    .map(str::to_owned)
                    .collect(),
            },
            updated_at: format_timestamp(record.updated_at),
        }
    }
}
