//! Bearer-token validation: signature (built-in key or an external JWKS), `iss`, `aud`, and
//! `exp`/`nbf` against the server's clock; the result is the caller's [`Principal`].

use std::collections::HashSet;
use std::sync::Arc;

use eps_core::client::{Scope, ScopeSet};
use eps_core::ids::ClientId;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::auth::jwks::RemoteKeys;
use crate::auth::keys::SigningKey;
use crate::error::BearerChallenge;

/// Who is calling, as the token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The OAuth2 client (`sub`).
    pub client_id: ClientId,
    /// The scopes granted.
    pub scopes: ScopeSet,
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
}

/// The claims read from any token.
#[derive(Debug, Deserialize)]
struct IncomingClaims {
    sub: Option<String>,
    exp: Option<i64>,
    nbf: Option<i64>,
    scope: Option<String>,
    scp: Option<ScopeClaim>,
}

/// `scp` as some issuers write it: a list or a space-separated string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ScopeClaim {
    List(Vec<String>),
    Text(String),
}

impl TokenVerifier {
    /// A verifier accepting tokens from `issuer` for `audience`, signed by `keys`.
    pub fn new(keys: KeySource, issuer: String, audience: String, leeway: Duration) -> Self {
        Self {
            keys,
            issuer,
            audience,
            leeway,
        }
    }

    /// The external keys, when tokens come from elsewhere.
    pub fn remote_keys(&self) -> Option<&Arc<RemoteKeys>> {
        match &self.keys {
            KeySource::Remote(keys) => Some(keys),
            KeySource::Local(_) => None,
        }
    }

    /// Checks `token` at `now`; the error is the challenge to answer with.
    pub async fn verify(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Principal, BearerChallenge> {
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
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims = HashSet::new();
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let claims = jsonwebtoken::decode::<IncomingClaims>(token, &key, &validation)
            .map_err(|e| BearerChallenge::invalid_token(describe(e.kind())))?
            .claims;
        self.check_times(&claims, now)?;
        let sub = claims
            .sub
            .ok_or_else(|| BearerChallenge::invalid_token("the token has no sub"))?;
        let client_id = ClientId::parse(&sub)
            .map_err(|e| BearerChallenge::invalid_token(format!("the token's sub {e}")))?;
        Ok(Principal {
            client_id,
            scopes: scopes_of(claims.scope, claims.scp),
        })
    }

    fn check_times(
        &self,
        claims: &IncomingClaims,
        now: OffsetDateTime,
    ) -> Result<(), BearerChallenge> {
        let now = now.unix_timestamp();
        let leeway = self.leeway.whole_seconds();
        let exp = claims
            .exp
            .ok_or_else(|| BearerChallenge::invalid_token("the token has no exp"))?;
        if now > exp.saturating_add(leeway) {
            return Err(BearerChallenge::invalid_token("the token has expired"));
        }
        if claims
            .nbf
            .is_some_and(|nbf| now.saturating_add(leeway) < nbf)
        {
            return Err(BearerChallenge::invalid_token("the token is not valid yet"));
        }
        Ok(())
    }
}

/// The algorithms a JWK may verify: its `alg` if it names one, else what its key type allows.
fn algorithms_for(jwk: &Jwk) -> Vec<Algorithm> {
    let from_alg = jwk.common.key_algorithm.and_then(|alg| match alg {
        KeyAlgorithm::ES256 => Some(Algorithm::ES256),
        KeyAlgorithm::ES384 => Some(Algorithm::ES384),
        KeyAlgorithm::RS256 => Some(Algorithm::RS256),
        KeyAlgorithm::RS384 => Some(Algorithm::RS384),
        KeyAlgorithm::RS512 => Some(Algorithm::RS512),
        KeyAlgorithm::PS256 => Some(Algorithm::PS256),
        KeyAlgorithm::PS384 => Some(Algorithm::PS384),
        KeyAlgorithm::PS512 => Some(Algorithm::PS512),
        KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
        // Symmetric and encryption algorithms never verify an access token here.
        _ => None,
    });
    if let Some(alg) = from_alg {
        return vec![alg];
    }
    match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => vec![],
        },
        AlgorithmParameters::RSA(_) => vec![
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::OctetKeyPair(_) => vec![Algorithm::EdDSA],
        _ => vec![],
    }
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
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::auth::keys::generate_pem;
    use crate::auth::token::TokenIssuer;

    fn setup() -> (TokenIssuer, TokenVerifier) {
        setup_with(&generate_pem().unwrap())
    }

    fn setup_with(pem: &str) -> (TokenIssuer, TokenVerifier) {
        let key = Arc::new(SigningKey::from_pem(pem).unwrap());
        let issuer = TokenIssuer::new(
            key.clone(),
            "http://eps.test".into(),
            "eps".into(),
            Duration::hours(1),
        );
        let verifier = TokenVerifier::new(
            KeySource::Local(key),
            "http://eps.test".into(),
            "eps".into(),
            Duration::seconds(30),
        );
        (issuer, verifier)
    }

    #[tokio::test]
    async fn issued_tokens_verify_within_their_lifetime() {
        let (issuer, verifier) = setup();
        let now = datetime!(2026-01-01 00:00 UTC);
        let client = ClientId::parse("pos-1").unwrap();
        let scopes = ScopeSet::parse("read write").unwrap();
        let token = issuer.issue(&client, scopes.clone(), now).unwrap();
        let principal = verifier.verify(&token.access_token, now).await.unwrap();
        assert_eq!(principal.client_id, client);
        assert_eq!(principal.scopes, scopes);
        let late = now + Duration::hours(1) + Duration::seconds(31);
        let err = verifier
            .verify(&token.access_token, late)
            .await
            .unwrap_err();
        assert!(err.description.contains("expired"));
        let early = now - Duration::seconds(31);
        let err = verifier
            .verify(&token.access_token, early)
            .await
            .unwrap_err();
        assert!(err.description.contains("not valid yet"));
    }

    #[tokio::test]
    async fn foreign_keys_issuers_and_audiences_are_refused() {
        let pem = generate_pem().unwrap();
        let (issuer, verifier) = setup_with(&pem);
        let (other_issuer, _) = setup();
        let now = datetime!(2026-01-01 00:00 UTC);
        let client = ClientId::parse("pos-1").unwrap();
        let issue = |issuer: &TokenIssuer| {
            issuer
                .issue(&client, ScopeSet::default(), now)
                .unwrap()
                .access_token
        };
        let err = verifier
            .verify(&issue(&other_issuer), now)
            .await
            .unwrap_err();
        assert_eq!(err.error, Some("invalid_token"));
        assert!(err.description.contains("signature"), "{err:?}");
        let same_key = |iss: &str, aud: &str| {
            TokenIssuer::new(
                Arc::new(SigningKey::from_pem(&pem).unwrap()),
                iss.into(),
                aud.into(),
                Duration::hours(1),
            )
        };
        let err = verifier
            .verify(&issue(&same_key("http://elsewhere", "eps")), now)
            .await
            .unwrap_err();
        assert!(err.description.contains("issuer"), "{err:?}");
        let err = verifier
            .verify(&issue(&same_key("http://eps.test", "other")), now)
            .await
            .unwrap_err();
        assert!(err.description.contains("audience"), "{err:?}");
        let tampered = format!("{}x", issue(&issuer));
        assert!(verifier.verify(&tampered, now).await.is_err());
        assert!(verifier.verify("not.a.jwt", now).await.is_err());
    }

    #[test]
    fn scopes_come_from_scope_and_scp() {
        let set = scopes_of(
            Some("read openid".into()),
            Some(ScopeClaim::List(vec!["admin".into()])),
        );
        assert_eq!(set.to_string(), "admin read");
        assert_eq!(
            scopes_of(None, Some(ScopeClaim::Text("write".into()))).to_string(),
            "write"
        );
    }
}
