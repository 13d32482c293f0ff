//! Country settings: one row per site, replaced on every write.

use async_trait::async_trait;

use super::SqlStore;
use crate::country::{CountrySettings, CountrySettingsRecord};
use crate::error::Result;
use crate::ids::MerchantId;
use crate::store::CountrySettingsStore;
use crate::store::codec::{corrupt, instant, millis};
use crate::store::engine::{Engine, Statement};

#[async_trait]
impl<E: Engine> CountrySettingsStore for SqlStore<E> {
    async fn put_country_settings(&self, record: &CountrySettingsRecord) -> Result<()> {
        let settings = &record.settings;
        let currencies: Vec<&str> = settings.local_currencies.iter().map(|c| c.code()).collect();
        self.engine()
            .execute(
                Statement::new(
                    "INSERT INTO country_settings (merchant_id, volume_unit, country_code, \
                     language, local_currencies, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (merchant_id) DO UPDATE SET volume_unit = excluded.volume_unit, \
                     country_code = excluded.country_code, language = excluded.language, \
                     local_currencies = excluded.local_currencies, \
                     updated_at = excluded.updated_at",
                )
                .text(record.merchant_id.as_str())
                .text(settings.volume_unit.as_str())
                .text(settings.country_code.as_str())
                .text(settings.language.as_str())
                .text(currencies.join(","))
                .int(millis(record.updated_at)?),
            )
            .await?;
        Ok(())
    }

    async fn country_settings(
        &self,
        merchant: &MerchantId,
    ) -> Result<Option<CountrySettingsRecord>> {
        let row: Option<(String, String, String, String, i64)> = self
            .engine()
            .fetch_optional(
                Statement::new(
                    "SELECT volume_unit, country_code, language, local_currencies, updated_at \
                     FROM country_settings WHERE merchant_id = $1",
                )
                .text(merchant.as_str()),
            )
            .await?;
        let Some((unit, country, language, currencies, updated_at)) = row else {
            return Ok(None);
        };
        let currencies: Vec<&str> = currencies.split(',').collect();
        let settings = CountrySettings::parse(&unit, &country, &language, &currencies)
            .map_err(|e| corrupt("country_settings", e))?;
        Ok(Some(CountrySettingsRecord {
            merchant_id: merchant.clone(),
            settings,
            updated_at: instant("updated_at", updated_at)?,
        }))
    }
}
