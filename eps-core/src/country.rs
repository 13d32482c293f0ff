//! A site's country settings (the Open Retailing DCA's `/countrySettings`): the volume unit,
//! country, language and local currencies a site system configures for its site. Parsed here,
//! stored per site ([`crate::store::CountrySettingsStore`]).

use std::fmt;

use time::OffsetDateTime;

use crate::error::Result;
use crate::ids::MerchantId;
use crate::money::Currency;
use crate::store::Store;

/// The most local currencies a site may list.
pub const MAX_CURRENCIES: usize = 10;

/// Why a country setting was refused; `field` names it as the request does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct CountryError {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// A volume unit code (UN/ECE Recommendation 20, as the public example's `GLL`, or `LTR`):
/// 1..3 upper-case letters or digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeUnit(String);

/// An ISO 3166-1 alpha-2 country code (`US`, `DE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryCode(String);

/// An ISO 639-2 language code (`eng`, `deu`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language(String);

/// A site's country settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountrySettings {
    /// The unit fuel volumes are in.
    pub volume_unit: VolumeUnit,
    /// The site's country.
    pub country_code: CountryCode,
    /// The site's language.
    pub language: Language,
    /// The currencies the site takes, first the main one; 1..=[`MAX_CURRENCIES`], no repeats.
    pub local_currencies: Vec<Currency>,
}

/// A site's stored country settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountrySettingsRecord {
    /// The site.
    pub merchant_id: MerchantId,
    /// Its settings.
    pub settings: CountrySettings,
    /// When they were last set.
    pub updated_at: OffsetDateTime,
}

fn refuse(field: &'static str, problem: impl Into<String>) -> CountryError {
    CountryError {
        field,
        problem: problem.into(),
    }
}

impl VolumeUnit {
    /// Accepts 1..3 upper-case ASCII letters or digits.
    pub fn parse(value: &str) -> std::result::Result<Self, CountryError> {
        let ok = (1..=3).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        ok.then(|| Self(value.to_owned())).ok_or_else(|| {
            refuse("volumeUnit", "must be a UN/ECE unit code of 1..3 upper-case letters or digits, such as \"GLL\" or \"LTR\"")
        })
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl CountryCode {
    /// Accepts two upper-case ASCII letters.
    pub fn parse(value: &str) -> std::result::Result<Self, CountryError> {
        let ok = value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase());
        ok.then(|| Self(value.to_owned())).ok_or_else(|| {
            refuse(
                "countryCode",
                "must be an ISO 3166-1 alpha-2 code such as \"US\"",
            )
        })
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Language {
    /// Accepts three lower-case ASCII letters.
    pub fn parse(value: &str) -> std::result::Result<Self, CountryError> {
        let ok = value.len() == 3 && value.bytes().all(|b| b.is_ascii_lowercase());
        ok.then(|| Self(value.to_owned())).ok_or_else(|| {
            refuse(
                "language",
                "must be an ISO 639-2 code of three lower-case letters such as \"eng\"",
            )
        })
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl CountrySettings {
    /// Parses the four settings as a request or a stored row carries them.
    pub fn parse(
        volume_unit: &str,
        country_code: &str,
        language: &str,
        local_currencies: &[impl AsRef<str>],
    ) -> std::result::Result<Self, CountryError> {
        if local_currencies.is_empty() || local_currencies.len() > MAX_CURRENCIES {
            return Err(refuse(
                "localCurrencies",
                format!("must list 1..{MAX_CURRENCIES} currencies"),
            ));
        }
        let mut currencies: Vec<Currency> = Vec::with_capacity(local_currencies.len());
        for code in local_currencies {
            let currency = Currency::parse(code.as_ref())
                .map_err(|e| refuse("localCurrencies", e.to_string()))?;
            if currencies.contains(&currency) {
                return Err(refuse(
                    "localCurrencies",
                    format!("{currency} is listed twice"),
                ));
            }
            currencies.push(currency);
        }
        Ok(Self {
            volume_unit: VolumeUnit::parse(volume_unit)?,
            country_code: CountryCode::parse(country_code)?,
            language: Language::parse(language)?,
            local_currencies: currencies,
        })
    }
}

impl fmt::Display for CountrySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let currencies: Vec<&str> = self.local_currencies.iter().map(Currency::code).collect();
        write!(
            f,
            "{} {} {} {}",
            self.volume_unit.as_str(),
            self.country_code.as_str(),
            self.language.as_str(),
            currencies.join(",")
        )
    }
}

/// Stores `settings` as `merchant`'s, replacing earlier ones; durable when it returns.
pub async fn save(
    store: &dyn Store,
    merchant: &MerchantId,
    settings: CountrySettings,
    now: OffsetDateTime,
) -> Result<CountrySettingsRecord> {
    let record = CountrySettingsRecord {
        merchant_id: merchant.clone(),
        settings,
        updated_at: now,
    };
    store.put_country_settings(&record).await?;
    Ok(record)
}

/// `merchant`'s country settings; [`crate::Error::NotFound`] when none were set.
pub async fn load(store: &dyn Store, merchant: &MerchantId) -> Result<CountrySettingsRecord> {
    store
        .country_settings(merchant)
        .await?
        .ok_or(crate::Error::NotFound(
            "country settings (none were set for this site)",
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_example_parses() {
        let settings = CountrySettings::parse("GLL", "US", "eng", &["USD"]).unwrap();
        assert_eq!(settings.to_string(), "GLL US eng USD");
    }

    #[test]
    fn each_field_is_refused_by_name() {
        let cases: [(&str, &str, &str, &[&str], &str); 7] = [
            ("gll", "US", "eng", &["USD"], "volumeUnit"),
            ("GLLX", "US", "eng", &["USD"], "volumeUnit"),
            ("GLL", "us", "eng", &["USD"], "countryCode"),
            ("GLL", "US", "EN", &["USD"], "language"),
            ("GLL", "US", "eng", &[], "localCurrencies"),
            ("GLL", "US", "eng", &["XXQ"], "localCurrencies"),
            ("GLL", "US", "eng", &["USD", "USD"], "localCurrencies"),
        ];
        for (unit, country, language, currencies, field) in cases {
            let err = CountrySettings::parse(unit, country, language, currencies).unwrap_err();
            assert_eq!(
                err.field, field,
                "{unit} {country} {language} {currencies:?}"
            );
        }
    }
}
