//! The built-in issuer's key as every node sees it: the database records the fingerprint of the
//! first key a node started with, and a node holding another key is refused, so that a token from
//! any node verifies on every node.

use std::fmt;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::store::IssuerKeyStore;

/// The fingerprint of a public signing key: its RFC 7638 SHA-256 thumbprint (base64url, no
/// padding, 43 characters), which is also the `kid` of the issuer's JWKS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyFingerprint(String);

impl KeyFingerprint {
    /// Parses a base64url SHA-256 thumbprint.
    pub fn parse(value: &str) -> Result<Self> {
        let valid = value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(Error::InvalidState(format!(
                "{value:?} is not a key fingerprint (43 base64url characters)"
            )))
        }
    }

    /// The fingerprint as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a node's key compares with the one the database records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStanding {
    /// None was recorded: this node's key is now the one every node must use.
    Recorded,
    /// The recorded key is this node's.
    Matches,
    /// Another key is recorded: this node must not issue or accept tokens.
    Differs {
        /// The fingerprint the database records.
        recorded: KeyFingerprint,
    },
}

/// Records `key` as the issuer's key when none is, and says how it compares with the recorded one.
pub async fn adopt(
    store: &dyn IssuerKeyStore,
    key: &KeyFingerprint,
    now: OffsetDateTime,
) -> Result<KeyStanding> {
    let recorded = store.adopt_issuer_key(key, now).await?;
    Ok(match recorded {
        None => KeyStanding::Recorded,
        Some(recorded) if &recorded == key => KeyStanding::Matches,
        Some(recorded) => KeyStanding::Differs { recorded },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_43_base64url_characters() {
        let ok = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        assert_eq!(KeyFingerprint::parse(ok).unwrap().as_str(), ok);
        for bad in ["", "short", &format!("{ok}A"), &ok.replace('-', "+")] {
            assert!(KeyFingerprint::parse(bad).is_err(), "{bad:?}");
        }
    }
}
