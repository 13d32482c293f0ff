//! Access tokens of the built-in issuer: ES256 JWTs with `iss`, `sub`, `aud`, `exp`, `iat`,
//! `nbf`, `jti`, `scope` and `client_id` (RFC 9068 style), and `sites`: the merchant ids the
//! client is granted (`["*"]`: every site).

use std::sync::Arc;

use eps_core::client::{ScopeSet, SiteGrant};
use eps_core::ids::ClientId;
use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::auth::keys::SigningKey;

/// The claims the built-in issuer writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// The client the token was issued to.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Token id.
    pub jti: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The client, as RFC 9068 names it.
    pub client_id: String,
    /// The sites granted: merchant ids, or `["*"]`; empty for none.
    pub sites: SiteGrant,
}

/// A freshly issued token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The scopes granted.
    pub scope: ScopeSet,
}

/// Signs access tokens.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    key: Arc<SigningKey>,
    issuer: String,
    audience: String,
    lifetime: Duration,
}

impl TokenIssuer {
    /// An issuer named `issuer` writing `audience`, with tokens valid for `lifetime`.
    pub fn new(key: Arc<SigningKey>, issuer: String, audience: String, lifetime: Duration) -> Self {
        Self {
            key,
            issuer,
            audience,
            lifetime,
        }
    }

    /// The `iss` written into tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Signs a token for `client` with `scope` and `sites`, issued at `now`.
    pub fn issue(
        &self,
        client: &ClientId,
        scope: ScopeSet,
        sites: &SiteGrant,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
        let iat = now.unix_timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: client.to_string(),
            aud: self.audience.clone(),
            exp: iat + self.lifetime.whole_seconds(),
            iat,
            nbf: iat,
            jti: uuid::Uuid::new_v4().to_string(),
            scope: scope.to_string(),
            client_id: client.to_string(),
            sites: sites.clone(),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key.kid().to_owned());
        header.typ = Some("at+jwt".to_owned());
        let access_token = jsonwebtoken::encode(&header, &claims, self.key.encoding())?;
        Ok(IssuedToken {
            access_token,
            expires_in: self.lifetime.whole_seconds(),
            scope,
        })
    }
}
