//! Sites and their POIs, as configured: which payment positions a site system may use.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::ids::{IdError, MerchantId, PoiId, TerminalId};

/// The kind of workstation a POI serves, as the Open Retailing `workstationType` names it.
///
/// The public schema shows `pointOfService` and `fuelingPoint`; the enum is open-ended, so any other
/// lowerCamelCase word is kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkstationType(String);

impl WorkstationType {
    /// A POS lane inside the shop.
    pub const POINT_OF_SERVICE: &'static str = "pointOfService";
    /// An outdoor payment terminal at a fuelling point.
    pub const FUELING_POINT: &'static str = "fuelingPoint";

    /// Accepts 1..=40 ASCII letters and digits.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        if value.is_empty() {
            return Err(IdError::Empty);
        }
        if value.len() > 40 {
            return Err(IdError::TooLong { max: 40 });
        }
        if !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IdError::BadCharacters);
        }
        Ok(Self(value.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WorkstationType {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, IdError> {
        Self::parse(&value)
    }
}

impl From<WorkstationType> for String {
    fn from(value: WorkstationType) -> String {
        value.0
    }
}

/// One payment position of a site, driven by one terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poi {
    /// The EPS-wide id, stable across restarts.
    pub poi_id: PoiId,
    /// The site's own number for the position, unique within its workstation type ("001").
    pub logical_id: String,
    /// What kind of position it is.
    pub workstation_type: WorkstationType,
    /// The site it belongs to.
    pub merchant_id: MerchantId,
    /// The terminal that serves it.
    pub terminal_id: TerminalId,
}

/// A site: a merchant id and its POIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The merchant id site systems present to select this site.
    pub merchant_id: MerchantId,
    /// A human name for operators.
    pub name: String,
    /// Its POIs, in configuration order.
    pub pois: Vec<Poi>,
}

/// Why a site directory could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteConfigError {
    /// Two sites share one merchant id.
    #[error("merchant id {0} is configured twice")]
    DuplicateSite(MerchantId),
    /// Two POIs of one site share a workstation type and logical id.
    #[error("site {merchant}: POI {workstation_type}/{logical_id} is configured twice")]
    DuplicatePoi {
        /// The site.
        merchant: MerchantId,
        /// The workstation type.
        workstation_type: String,
        /// The logical id.
        logical_id: String,
    },
    /// One terminal is assigned to two POIs.
    #[error("terminal {0} serves more than one POI")]
    SharedTerminal(TerminalId),
}

/// All configured sites with lookups by merchant id, POI id and logical address.
#[derive(Debug, Clone, Default)]
pub struct SiteDirectory {
    sites: Vec<Site>,
    by_merchant: HashMap<MerchantId, usize>,
    by_poi: HashMap<PoiId, (usize, usize)>,
}

impl SiteDirectory {
    /// Builds the directory, refusing duplicate sites, POIs and terminals.
    pub fn new(sites: Vec<Site>) -> Result<Self, SiteConfigError> {
        let mut by_merchant = HashMap::new();
        let mut by_poi = HashMap::new();
        let mut terminals = HashMap::new();
        for (s, site) in sites.iter().enumerate() {
            if by_merchant.insert(site.merchant_id.clone(), s).is_some() {
                return Err(SiteConfigError::DuplicateSite(site.merchant_id.clone()));
            }
            for (p, poi) in site.pois.iter().enumerate() {
                if by_poi.insert(poi.poi_id, (s, p)).is_some() {
                    return Err(SiteConfigError::DuplicatePoi {
                        merchant: site.merchant_id.clone(),
                        workstation_type: poi.workstation_type.as_str().to_owned(),
                        logical_id: poi.logical_id.clone(),
                    });
                }
                if terminals.insert(poi.terminal_id.clone(), ()).is_some() {
                    return Err(SiteConfigError::SharedTerminal(poi.terminal_id.clone()));
                }
            }
        }
        Ok(Self {
            sites,
            by_merchant,
            by_poi,
        })
    }

    /// The site with this merchant id.
    pub fn site(&self, merchant: &MerchantId) -> Option<&Site> {
        self.by_merchant
            .get(merchant)
            .and_then(|i| self.sites.get(*i))
    }

    /// The POI with this id, whichever site it belongs to.
    pub fn poi(&self, poi_id: &PoiId) -> Option<&Poi> {
        let (s, p) = self.by_poi.get(poi_id)?;
        self.sites.get(*s)?.pois.get(*p)
    }

    /// The POI of a site addressed by workstation type and logical id.
    pub fn poi_by_logical_id(
        &self,
        merchant: &MerchantId,
        workstation_type: &str,
        logical_id: &str,
    ) -> Option<&Poi> {
        self.site(merchant)?
            .pois
            .iter()
            .find(|p| p.workstation_type.as_str() == workstation_type && p.logical_id == logical_id)
    }

    /// The POI a terminal serves.
    pub fn poi_of_terminal(&self, terminal: &TerminalId) -> Option<&Poi> {
        self.sites
            .iter()
            .flat_map(|s| s.pois.iter())
            .find(|p| &p.terminal_id == terminal)
    }

    /// Every site.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poi(site: &MerchantId, wt: &str, logical: &str, terminal: &str) -> Poi {
        Poi {
            poi_id: PoiId::derive(site, wt, logical),
            logical_id: logical.into(),
            workstation_type: WorkstationType::parse(wt).unwrap(),
            merchant_id: site.clone(),
            terminal_id: TerminalId::parse(terminal).unwrap(),
        }
    }

    #[test]
    fn lookups() {
        let m = MerchantId::parse("1234567890").unwrap();
        let lane = poi(&m, "pointOfService", "001", "t1");
        let pump = poi(&m, "fuelingPoint", "001", "t2");
        let dir = SiteDirectory::new(vec![Site {
            merchant_id: m.clone(),
            name: "Demo".into(),
            pois: vec![lane.clone(), pump.clone()],
        }])
        .unwrap();
        assert_eq!(dir.poi(&lane.poi_id), Some(&lane));
        assert_eq!(
            dir.poi_by_logical_id(&m, "fuelingPoint", "001"),
            Some(&pump)
        );
        assert_eq!(
            dir.poi_of_terminal(&TerminalId::parse("t1").unwrap()),
            Some(&lane)
        );
    }

    #[test]
    fn refuses_duplicates() {
        let m = MerchantId::parse("1").unwrap();
        let a = poi(&m, "pointOfService", "001", "t1");
        let b = poi(&m, "pointOfService", "001", "t2");
        let err = SiteDirectory::new(vec![Site {
            merchant_id: m.clone(),
            name: "x".into(),
            pois: vec![a.clone(), b],
        }]);
        assert!(matches!(err, Err(SiteConfigError::DuplicatePoi { .. })));
        let c = poi(&m, "fuelingPoint", "001", "t1");
        let err = SiteDirectory::new(vec![Site {
            merchant_id: m,
            name: "x".into(),
            pois: vec![a, c],
        }]);
        assert!(matches!(err, Err(SiteConfigError::SharedTerminal(_))));
    }
}
