//! An external OAuth2 issuer for tests: its own P-256 key, its JWKS (as a file or served over
//! loopback HTTP), and tokens minted with whatever claims a test needs.

use std::net::SocketAddr;

use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An issuer the EPS does not run.
pub struct ExternalIssuer {
    /// Its `iss`.
    pub issuer: String,
    /// The `aud` it writes by default.
    pub audience: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl ExternalIssuer {
    /// A new issuer with a fresh key.
    pub fn new(issuer: &str, audience: &str) -> Self {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let pem = secret.to_pkcs8_pem(LineEnding::LF).expect("PEM");
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).expect("EC key");
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).expect("JWK");
        jwk.common.key_id = Some(jwk.thumbprint(ThumbprintHash::SHA256).expect("kid"));
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::ES256);
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            encoding,
            jwk,
        }
    }

    /// The JWKS document.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// A token for `sub` with `scope` and the default site, valid for an hour from `now`.
    pub fn mint(&self, sub: &str, scope: &str, now: OffsetDateTime) -> String {
        let iat = now.unix_timestamp();
        self.mint_claims(&json!({
            "iss": self.issuer, "sub": sub, "aud": self.audience,
            "iat": iat, "nbf": iat, "exp": iat + 3600, "scope": scope,
            "sites": [crate::app::DEFAULT_SITE],
        }))
    }

    /// A token with exactly `claims`.
    pub fn mint_claims(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = self.jwk.common.key_id.clone();
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }

    /// Serves the JWKS at `http://<addr>/jwks.json` until the task is aborted.
    pub async fn serve_jwks(&self) -> (String, JoinHandle<()>) {
        let document = self.jwks();
        let router = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || async move { axum::Json(document) }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        (format!("http://{addr}/jwks.json"), task)
    }
}
