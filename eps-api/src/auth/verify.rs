//! Bearer-token validation: signature with the algorithm pinned per key (built-in: ES256;
//! external: the JWK's `alg`, else one algorithm per key type), the required `iss`, `aud`, `exp`
//! and `sub`, `exp`/`nbf` against the server's clock, and the site grant. The result is the
//! caller's [`Principal`].
//!
//! Tokens of the built-in issuer are also checked against the [`ClientRoster`]: a removed client's
//! tokens are refused, and the token's scopes and sites are narrowed to what the client holds
//! now, within one roster refresh.
//!
//! A token's signature and claims are checked once: later requests find it in the
//! [`TokenCache`] by its hash, where only its lifetime is checked again (and the roster, always).

use std::collections::HashMap;
use std::sync::Arc;

use eps_core::client::{ClientRoster, Scope, ScopeSet, SiteGrant};
use eps_core::ids::ClientId;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::auth::jwks::RemoteKeys;
use crate::auth::keys::SigningKey;
use crate::auth::token_cache::{Lifetime, TokenCache, TokenHash, Verified};
use crate::error::{ApiError, BearerChallenge};

/// The claim the built-in issuer writes the site grant to (and the default name read).
pub const SITES_CLAIM: &str = "sites";

/// Who is calling, as the token says (narrowed by the client table for built-in tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The OAuth2 client (`sub`).
    pub client_id: ClientId,
    /// The scopes granted.
    pub scopes: ScopeSet,
    /// The sites it may reach; none when the token carries no site claim.
    pub sites: SiteGrant,
    /// The token's `iat`, when it has one.
    pub issued_at: Option<OffsetDateTime>,
}

/// Where verification keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The built-in issuer's own key.
    Local(Arc<SigningKey>),
    /// An external issuer's JWKS.
    Remote(Arc<RemoteKeys>),
}

/// Validates bearer tokens.
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    keys: KeySource,
    issuer: String,
    audience: String,
    leeway: Duration,
    sites_claim: String,
    roster: Option<Arc<ClientRoster>>,
    cache: Arc<TokenCache>,
}

/// The claims read from any token.
#[derive(Debug, Deserialize)]
struct IncomingClaims {
    sub: Option<String>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    scope: Option<String>,
    scp: Option<ScopeClaim>,
    /// Everything else; the site claim is looked up here by its configured name.
    #[serde(flatten)]
    other: HashMap<String, Value>,
}

/// `scp` as some issuers write it: a list or a space-separated string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ScopeClaim {
    List(Vec<String>),
    Text(String),
}

impl TokenVerifier {
    /// A verifier accepting tokens from `issuer` for `audience`, signed by `keys`, reading the
    /// site grant from the `sites` claim.
    pub fn new(keys: KeySource, issuer: String, audience: String, leeway: Duration) -> Self {
        Self {
            keys,
            issuer,
            audience,
            leeway,
            sites_claim: SITES_CLAIM.to_owned(),
            roster: None,
            cache: Arc::default(),
        }
    }

    /// Remembers at most `capacity` verified tokens (0: verifies every request in full).
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = Arc::new(TokenCache::new(capacity));
        self
    }

    /// Reads the site grant from the claim `name` instead.
    pub fn with_sites_claim(mut self, name: String) -> Self {
        self.sites_claim = name;
        self
    }

    /// Checks every token's client against `roster` (the built-in issuer's clients).
    pub fn with_roster(mut self, roster: Arc<ClientRoster>) -> Self {
        self.roster = Some(roster);
        self
    }

    /// The external keys, when tokens come from elsewhere.
    pub fn remote_keys(&self) -> Option<&Arc<RemoteKeys>> {
        match &self.keys {
            KeySource::Remote(keys) => Some(keys),
            KeySource::Local(_) => None,
        }
    }

    /// Checks `token` at `now`: 401 with the challenge to answer, or 503 when the client table
    /// cannot be read.
    pub async fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Principal, ApiError> {
        let principal = self
            .verified(token, now)
            .await
            .map_err(ApiError::Unauthorized)?;
        self.admit(principal, now).await
    }

    /// The token's principal: from the cache when its signature was checked before under the
    /// same keys (its lifetime is checked again), else decoded in full and remembered.
    async fn verified(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Principal, BearerChallenge> {
        let hash = TokenHash::of(token);
        // Read before decoding: keys that change meanwhile make the entry stale at once.
        let keys = self.keys_generation();
        if let Some(known) = self.cache.find(&hash, keys) {
            return match self.check_times(known.lifetime, now) {
                Ok(()) => Ok(known.principal),
                Err(refused) => {
                    self.cache.forget(&hash);
                    Err(refused)
                }
            };
        }
        let verified = self.decode(token, now).await?;
        let principal = verified.principal.clone();
        self.cache
            .insert(hash, verified, keys, now.unix_timestamp());
        Ok(principal)
    }

    /// Which key set tokens are checked under: the built-in key never changes; an external
    /// issuer's changes with every JWKS load that brings different keys.
    fn keys_generation(&self) -> u64 {
        match &self.keys {
            KeySource::Local(_) => 0,
            KeySource::Remote(remote) => remote.generation(),
        }
    }

    /// `principal` as the client table stands at `now` (for long-lived requests such as event
    /// streams, re-checked while they run); the token's own claims are not read again.
    pub async fn admit(
        &self,
        mut principal: Principal,
        now: OffsetDateTime,
    ) -> Result<Principal, ApiError> {
        let Some(roster) = &self.roster else {
            return Ok(principal);
        };
        let refused = |why: &str| ApiError::Unauthorized(BearerChallenge::invalid_token(why));
        let issued_at = principal
            .issued_at
            .ok_or_else(|| refused("the token has no iat"))?;
        let standing = roster
            .standing(&principal.client_id, issued_at, now)
            .await?
            // A token from before this registration was issued to a removed namesake.
            .filter(|s| issued_at.unix_timestamp() >= s.registered_at.unix_timestamp())
            .ok_or_else(|| refused("the token's client is no longer registered"))?;
        principal.scopes = principal.scopes.intersection(&standing.scopes);
        principal.sites = principal.sites.intersection(&standing.sites);
        Ok(principal)
    }

    /// The token's signature and claims.
    async fn decode(&self, token: &str, now: OffsetDateTime) -> Result<Verified, BearerChallenge> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| BearerChallenge::invalid_token("the token is not a JWT"))?;
        let (key, algorithms) = match &self.keys {
            KeySource::Local(key) => (key.decoding().clone(), vec![Algorithm::ES256]),
            KeySource::Remote(remote) => {
                let jwk = remote.find(header.kid.as_deref()).await.ok_or_else(|| {
                    BearerChallenge::invalid_token("no key of the issuer matches the token's kid")
                })?;
                let algorithms = algorithms_for(&jwk);
                let key = DecodingKey::from_jwk(&jwk)
                    .map_err(|_| BearerChallenge::invalid_token("the issuer's key is unusable"))?;
                (key, algorithms)
            }
        };
        if !algorithms.contains(&header.alg) {
            return Err(BearerChallenge::invalid_token(format!(
                "algorithm {:?} is not accepted for this key",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.algorithms = algorithms;
        // Times are checked below against the server's clock, not the system's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let mut claims = jsonwebtoken::decode::<IncomingClaims>(token, &key, &validation)
            .map_err(|e| BearerChallenge::invalid_token(describe(e.kind())))?
            .claims;
        let lifetime = Lifetime {
            expires: claims
                .exp
                .ok_or_else(|| BearerChallenge::invalid_token("the token has no exp"))?,
            not_before: claims.nbf,
        };
        self.check_times(lifetime, now)?;
        let sub = claims
            .sub
            .ok_or_else(|| BearerChallenge::invalid_token("the token has no sub"))?;
        let client_id = ClientId::parse(&sub)
            .map_err(|e| BearerChallenge::invalid_token(format!("the token's sub {e}")))?;
        let sites = sites_of(&self.sites_claim, claims.other.remove(&self.sites_claim))?;
        let issued_at = claims
            .iat
            .map(OffsetDateTime::from_unix_timestamp)
            .transpose()
            .map_err(|_| BearerChallenge::invalid_token("the token's iat is out of range"))?;
        Ok(Verified {
            principal: Principal {
                client_id,
                scopes: scopes_of(claims.scope, claims.scp),
                sites,
                issued_at,
            },
            lifetime,
        })
    }

    fn check_times(&self, lifetime: Lifetime, now: OffsetDateTime) -> Result<(), BearerChallenge> {
        let now = now.unix_timestamp();
        let leeway = self.leeway.whole_seconds();
        if now > lifetime.expires.saturating_add(leeway) {
            return Err(BearerChallenge::invalid_token("the token has expired"));
        }
        if lifetime
            .not_before
            .is_some_and(|nbf| now.saturating_add(leeway) < nbf)
        {
            return Err(BearerChallenge::invalid_token("the token is not valid yet"));
        }
        Ok(())
    }
}

/// The algorithm a JWK verifies: the one its `alg` names (asymmetric signatures only), else the
/// single algorithm of its key type and curve. Never `none` or an HMAC algorithm.
fn algorithms_for(jwk: &Jwk) -> Vec<Algorithm> {
    if let Some(alg) = jwk.common.key_algorithm {
        let pinned = match alg {
            KeyAlgorithm::ES256 => Some(Algorithm::ES256),
            KeyAlgorithm::ES384 => Some(Algorithm::ES384),
            KeyAlgorithm::RS256 => Some(Algorithm::RS256),
            KeyAlgorithm::RS384 => Some(Algorithm::RS384),
            KeyAlgorithm::RS512 => Some(Algorithm::RS512),
            KeyAlgorithm::PS256 => Some(Algorithm::PS256),
            KeyAlgorithm::PS384 => Some(Algorithm::PS384),
            KeyAlgorithm::PS512 => Some(Algorithm::PS512),
            KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
            // Symmetric and encryption algorithms never verify an access token here: such a key
            // is unusable rather than given a default.
            _ => None,
        };
        return pinned.into_iter().collect();
    }
    match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => vec![],
        },
        AlgorithmParameters::RSA(_) => vec![Algorithm::RS256],
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            vec![Algorithm::EdDSA]
        }
        _ => vec![],
    }
}

/// The site grant in claim `name`: a list of merchant ids (`["*"]`: every site) or a single one
/// as a string; absent (or `null`): no site.
fn sites_of(name: &str, claim: Option<Value>) -> Result<SiteGrant, BearerChallenge> {
    let bad =
        |why: String| BearerChallenge::invalid_token(format!("the token's {name} claim {why}"));
    let values: Vec<String> = match claim {
        None | Some(Value::Null) => return Ok(SiteGrant::none()),
        Some(Value::String(one)) => vec![one],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(site) => Ok(site),
                _ => Err(bad("must list merchant ids as strings".to_owned())),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("must be a list of merchant ids".to_owned())),
    };
    SiteGrant::from_values(&values).map_err(|e| bad(e.to_string()))
}

/// The known scopes in `scope` and `scp`; other names are ignored.
fn scopes_of(scope: Option<String>, scp: Option<ScopeClaim>) -> ScopeSet {
    let mut names: Vec<String> = scope
        .map(|s| s.split(' ').map(str::to_owned).collect())
        .unwrap_or_default();
    match scp {
        Some(ScopeClaim::List(list)) => names.extend(list),
        Some(ScopeClaim::Text(text)) => names.extend(text.split(' ').map(str::to_owned)),
        None => {}
    }
    ScopeSet::new(names.iter().filter_map(|name| Scope::parse(name)))
}

fn describe(kind: &jsonwebtoken::errors::ErrorKind) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::InvalidSignature => "the token's signature is invalid".to_owned(),
        K::InvalidIssuer => "the token is from another issuer".to_owned(),
        K::InvalidAudience => "the token is for another audience".to_owned(),
        K::MissingRequiredClaim(claim) => format!("the token has no {claim}"),
        K::InvalidAlgorithm => "the token's algorithm is not accepted".to_owned(),
        _ => "the token is malformed".to_owned(),
    }
}

#[cfg(test)]
mod tests;
