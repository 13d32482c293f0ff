//! Site grants: which sites a client may reach. A grant is a set of merchant ids, or every site
//! (only for regional controllers). A client without a grant reaches no site.
//!
//! On the wire (token claim, stored column) a grant is a JSON array of merchant ids; `["*"]` is
//! every site and `[]` none.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{IdError, MerchantId};

/// The claim value (and list item) that stands for every site.
pub const ALL_SITES: &str = "*";

/// The sites a client may reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub enum SiteGrant {
    /// Only these sites; none when empty.
    Sites(BTreeSet<MerchantId>),
    /// Every site, configured now or later (a regional controller).
    AllSites,
}

impl Default for SiteGrant {
    /// No site.
    fn default() -> Self {
        Self::none()
    }
}

/// Why a grant could not be read or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// `*` was listed together with merchant ids.
    #[error("\"*\" (every site) cannot be combined with other sites")]
    MixedWildcard,
    /// A listed merchant id is not valid.
    #[error("site {site:?} {reason}")]
    BadSite {
        /// The value as given.
        site: String,
        /// What is wrong with it.
        reason: IdError,
    },
    /// A revoke named sites the client is not granted.
    #[error("not granted: {}", join(.0))]
    NotGranted(Vec<MerchantId>),
    /// A revoke of single sites from a client granted every site.
    #[error("the client is granted every site: revoke every site, then grant the ones it keeps")]
    GrantedEverySite,
    /// A revoke of every site from a client not granted every site.
    #[error("the client is not granted every site (its sites: {0})")]
    NotGrantedEverySite(String),
}

impl SiteGrant {
    /// No site.
    pub fn none() -> Self {
        Self::Sites(BTreeSet::new())
    }

    /// Exactly these sites.
    pub fn sites(sites: impl IntoIterator<Item = MerchantId>) -> Self {
        Self::Sites(sites.into_iter().collect())
    }

    /// Reads claim values: merchant ids, or `*` alone for every site.
    pub fn from_values<S: AsRef<str>>(values: &[S]) -> Result<Self, GrantError> {
        let mut sites = BTreeSet::new();
        let mut every = false;
        for value in values {
            let value = value.as_ref();
            if value == ALL_SITES {
                every = true;
                continue;
            }
            let site = MerchantId::parse(value).map_err(|reason| GrantError::BadSite {
                site: value.to_owned(),
                reason,
            })?;
            sites.insert(site);
        }
        match (every, sites.is_empty()) {
            (true, true) => Ok(Self::AllSites),
            (true, false) => Err(GrantError::MixedWildcard),
            (false, _) => Ok(Self::Sites(sites)),
        }
    }

    /// Reads a comma-separated list (`1234567890,555`, or `*`); blanks around items are ignored.
    pub fn parse_list(list: &str) -> Result<Self, GrantError> {
        let values: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        Self::from_values(&values)
    }

    /// The claim values: the merchant ids, or `["*"]`.
    pub fn values(&self) -> Vec<String> {
        match self {
            Self::AllSites => vec![ALL_SITES.to_owned()],
            Self::Sites(sites) => sites.iter().map(ToString::to_string).collect(),
        }
    }

    /// True when `site` may be reached.
    pub fn allows(&self, site: &MerchantId) -> bool {
        match self {
            Self::AllSites => true,
            Self::Sites(sites) => sites.contains(site),
        }
    }

    /// True when no site may be reached.
    pub fn is_none(&self) -> bool {
        match self {
            Self::AllSites => false,
            Self::Sites(sites) => sites.is_empty(),
        }
    }

    /// True for every site.
    pub fn is_all(&self) -> bool {
        matches!(self, Self::AllSites)
    }

    /// The sites both grants allow.
    pub fn intersection(&self, other: &Self) -> Self {
        match (self, other) {
            (Self::AllSites, other) | (other, Self::AllSites) => other.clone(),
            (Self::Sites(a), Self::Sites(b)) => Self::Sites(a.intersection(b).cloned().collect()),
        }
    }

    /// This grant with `added`'s sites too.
    pub fn union(&self, added: &Self) -> Self {
        match (self, added) {
            (Self::AllSites, _) | (_, Self::AllSites) => Self::AllSites,
            (Self::Sites(a), Self::Sites(b)) => Self::Sites(a.union(b).cloned().collect()),
        }
    }

    /// This grant without `removed`'s sites; every removed site must be granted.
    pub fn without(&self, removed: &Self) -> Result<Self, GrantError> {
        match (self, removed) {
            (Self::AllSites, Self::AllSites) => Ok(Self::none()),
            (Self::AllSites, _) => Err(GrantError::GrantedEverySite),
            (_, Self::AllSites) => Err(GrantError::NotGrantedEverySite(self.to_string())),
            (Self::Sites(granted), Self::Sites(removed)) => {
                let missing: Vec<MerchantId> = removed.difference(granted).cloned().collect();
                if !missing.is_empty() {
                    return Err(GrantError::NotGranted(missing));
                }
                Ok(Self::Sites(granted.difference(removed).cloned().collect()))
            }
        }
    }
}

impl fmt::Display for SiteGrant {
    /// `*` for every site, the merchant ids comma-separated, or `(none)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            return f.write_str("(none)");
        }
        f.write_str(&self.values().join(","))
    }
}

impl TryFrom<Vec<String>> for SiteGrant {
    type Error = GrantError;
    fn try_from(values: Vec<String>) -> Result<Self, GrantError> {
        Self::from_values(&values)
    }
}

impl From<SiteGrant> for Vec<String> {
    fn from(grant: SiteGrant) -> Self {
        grant.values()
    }
}

fn join(sites: &[MerchantId]) -> String {
    let names: Vec<&str> = sites.iter().map(MerchantId::as_str).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(id: &str) -> MerchantId {
        MerchantId::parse(id).unwrap()
    }

    #[test]
    fn claims_read_and_print() {
        let grant = SiteGrant::parse_list(" 555, 1234567890 ,,").unwrap();
        assert_eq!(grant.values(), ["1234567890", "555"]);
        assert_eq!(grant.to_string(), "1234567890,555");
        assert!(grant.allows(&site("555")) && !grant.allows(&site("556")));
        assert_eq!(SiteGrant::parse_list("*").unwrap(), SiteGrant::AllSites);
        assert_eq!(SiteGrant::AllSites.values(), ["*"]);
        assert_eq!(SiteGrant::parse_list("").unwrap(), SiteGrant::none());
        assert_eq!(SiteGrant::none().to_string(), "(none)");
        assert_eq!(
            SiteGrant::parse_list("*,555"),
            Err(GrantError::MixedWildcard)
        );
        assert!(matches!(
            SiteGrant::from_values(&["x".repeat(101)]),
            Err(GrantError::BadSite { .. })
        ));
        let json: SiteGrant = serde_json::from_str(r#"["7","5"]"#).unwrap();
        assert_eq!(serde_json::to_string(&json).unwrap(), r#"["5","7"]"#);
        assert!(serde_json::from_str::<SiteGrant>(r#"["*","5"]"#).is_err());
        assert_eq!(serde_json::to_string(&SiteGrant::none()).unwrap(), "[]");
    }

    #[test]
    fn every_site_allows_any_and_none_allows_nothing() {
        assert!(SiteGrant::AllSites.allows(&site("anything")));
        assert!(!SiteGrant::none().allows(&site("1")));
        assert!(SiteGrant::none().is_none() && !SiteGrant::AllSites.is_none());
    }

    #[test]
    fn intersections_and_unions() {
        let a = SiteGrant::parse_list("1,2").unwrap();
        let b = SiteGrant::parse_list("2,3").unwrap();
        assert_eq!(a.intersection(&b), SiteGrant::parse_list("2").unwrap());
        assert_eq!(a.intersection(&SiteGrant::AllSites), a);
        assert_eq!(SiteGrant::AllSites.intersection(&b), b);
        assert_eq!(a.intersection(&SiteGrant::none()), SiteGrant::none());
        assert_eq!(a.union(&b), SiteGrant::parse_list("1,2,3").unwrap());
        assert_eq!(a.union(&SiteGrant::AllSites), SiteGrant::AllSites);
    }

    #[test]
    fn revokes_name_only_granted_sites() {
        let a = SiteGrant::parse_list("1,2").unwrap();
        assert_eq!(
            a.without(&SiteGrant::parse_list("1").unwrap()),
            Ok(SiteGrant::parse_list("2").unwrap())
        );
        assert_eq!(
            a.without(&SiteGrant::parse_list("2,9").unwrap()),
            Err(GrantError::NotGranted(vec![site("9")]))
        );
        assert_eq!(
            SiteGrant::AllSites.without(&a),
            Err(GrantError::GrantedEverySite)
        );
        assert!(matches!(
            a.without(&SiteGrant::AllSites),
            Err(GrantError::NotGrantedEverySite(_))
        ));
        assert_eq!(
            SiteGrant::AllSites.without(&SiteGrant::AllSites),
            Ok(SiteGrant::none())
        );
    }
}
