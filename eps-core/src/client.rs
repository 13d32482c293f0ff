//! OAuth2 clients of the built-in issuer: who may obtain tokens, with which scopes, for which
//! sites ([`SiteGrant`]), and the cached view of them every token is checked against
//! ([`ClientRoster`]).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::ClientId;

mod grant;
mod roster;

pub use grant::{ALL_SITES, GrantError, SiteGrant};
pub use roster::{ClientRoster, ClientStanding, DEFAULT_REFRESH};

/// An Open Retailing scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Operator access: admin routes and the all-sites event feed.
    Admin,
    /// Read access: GET routes.
    Read,
    /// Write access: routes that change state.
    Write,
}

impl Scope {
    /// The scope's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    /// Parses a scope name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Self::Admin),
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes, printed space-separated as in OAuth2.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// A set of the given scopes.
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        Self(scopes.into_iter().collect())
    }

    /// Parses a list separated by spaces or commas; unknown names are returned as the error.
    pub fn parse(value: &str) -> Result<Self, String> {
        value
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(|s| Scope::parse(s).ok_or_else(|| s.to_owned()))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    /// True when the set holds `scope`.
    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    /// True when every scope of `other` is in this set.
    pub fn is_superset(&self, other: &Self) -> bool {
        self.0.is_superset(&other.0)
    }

    /// The scopes in both sets.
    pub fn intersection(&self, other: &Self) -> Self {
        Self(self.0.intersection(&other.0).copied().collect())
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(" "))
    }
}

/// A registered OAuth2 client; the secret is kept only as an argon2 PHC hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    /// `client_id`.
    pub client_id: ClientId,
    /// A human name for operators.
    pub name: String,
    /// The argon2 hash of the secret, in PHC string form.
    pub secret_hash: String,
    /// The scopes the client may be granted.
    pub scopes: ScopeSet,
    /// The sites it may reach.
    pub sites: SiteGrant,
    /// When it was registered.
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_sets_parse_and_print() {
        let set = ScopeSet::parse("write, read").unwrap();
        assert_eq!(set.to_string(), "read write");
        assert_eq!(ScopeSet::parse("read root"), Err("root".to_owned()));
        assert!(set.is_superset(&ScopeSet::new([Scope::Read])));
        let admin_read = ScopeSet::new([Scope::Admin, Scope::Read]);
        assert_eq!(set.intersection(&admin_read).to_string(), "read");
        assert!(!set.contains(Scope::Admin));
    }
}
