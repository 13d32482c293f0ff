//! An external issuer's signing keys: a JWKS read from a file or fetched from a URL, refreshed
//! periodically and when a token names a `kid` not seen yet (at most every ten seconds).

use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::JwksSource;

/// Least time between two refreshes caused by unknown `kid`s.
const MIN_REFETCH: Duration = Duration::from_secs(10);
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a JWKS could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The file could not be read.
    #[error("JWKS file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The failure.
        source: std::io::Error,
    },
    /// The URL could not be fetched.
    #[error("JWKS {url}: {reason}")]
    Fetch {
        /// The URL.
        url: String,
        /// The failure.
        reason: String,
    },
    /// The document is not a JWKS with at least one usable signing key.
    #[error("JWKS from {from}: {reason}")]
    Format {
        /// Where it came from.
        from: String,
        /// What is wrong.
        reason: String,
    },
}

/// The keys of an external issuer.
#[derive(Debug)]
pub struct RemoteKeys {
    source: JwksSource,
    http: Result<reqwest::Client, String>,
    keys: RwLock<Vec<Jwk>>,
    loaded: AtomicBool,
    /// Bumped by every load that changes the keys: tokens checked before are checked again.
    generation: AtomicU64,
    last_load: Mutex<Option<Instant>>,
}

impl RemoteKeys {
    /// Keys from `source`, not loaded yet.
    pub fn new(source: JwksSource) -> Self {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| e.to_string());
        Self {
            source,
            http,
            keys: RwLock::new(Vec::new()),
            loaded: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            last_load: Mutex::new(None),
        }
    }

    /// True once a load succeeded.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Reads or fetches the JWKS now; returns the number of usable keys.
    pub async fn load(&self) -> Result<usize, JwksError> {
        let mut last = self.last_load.lock().await;
        let result = self.read_source().await;
        *last = Some(Instant::now());
        let keys = result?;
        let count = keys.len();
        let mut current = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if *current != keys {
            *current = keys;
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        drop(current);
        self.loaded.store(true, Ordering::Release);
        Ok(count)
    }

    /// Which key set is in force: changes whenever a load brings different keys.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The key a token's `kid` names (or the only key when the token names none).
    pub async fn find(&self, kid: Option<&str>) -> Option<Jwk> {
        if let Some(jwk) = self.lookup(kid) {
            return Some(jwk);
        }
        let due = self
            .last_load
            .lock()
            .await
            .is_none_or(|at| at.elapsed() >= MIN_REFETCH);
        if due {
            if let Err(e) = self.load().await {
                tracing::warn!(error = %e, "refreshing the issuer's JWKS failed");
            }
            return self.lookup(kid);
        }
        None
    }

    /// Reloads every `interval` until `cancel` fires.
    pub async fn refresh_every(&self, interval: Duration, cancel: CancellationToken) {
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = ticker.tick() => {
                    if let Err(e) = self.load().await {
                        tracing::warn!(error = %e, "refreshing the issuer's JWKS failed");
                    }
                }
            }
        }
    }

    fn lookup(&self, kid: Option<&str>) -> Option<Jwk> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        match kid {
            Some(kid) => keys
                .iter()
                .find(|k| k.common.key_id.as_deref() == Some(kid))
                .cloned(),
            None if keys.len() == 1 => keys.first().cloned(),
            None => None,
        }
    }

    async fn read_source(&self) -> Result<Vec<Jwk>, JwksError> {
        match &self.source {
            JwksSource::File(path) => {
                let text =
                    tokio::fs::read_to_string(path)
                        .await
                        .map_err(|source| JwksError::File {
                            path: path.display().to_string(),
                            source,
                        })?;
                parse(&text, &path.display().to_string())
            }
            JwksSource::Url { url, .. } => {
                let fetch = |reason: String| JwksError::Fetch {
                    url: url.clone(),
                    reason,
                };
                let http = self.http.as_ref().map_err(|e| fetch(e.clone()))?;
                let response = http
                    .get(url)
                    .send()
                    .await
                    .map_err(|e| fetch(e.to_string()))?
                    .error_for_status()
                    .map_err(|e| fetch(e.to_string()))?;
                let text = response.text().await.map_err(|e| fetch(e.to_string()))?;
                parse(&text, url)
            }
        }
    }
}

/// The usable signing keys of a JWKS document; keys of unknown types are skipped.
pub fn parse(text: &str, from: &str) -> Result<Vec<Jwk>, JwksError> {
    let format = |reason: String| JwksError::Format {
        from: from.to_owned(),
        reason,
    };
    let document: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format(e.to_string()))?;
    let entries = document
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| format("no \"keys\" array".to_owned()))?;
    let keys: Vec<Jwk> = entries
        .iter()
        .filter_map(|entry| serde_json::from_value::<Jwk>(entry.clone()).ok())
        .filter(|jwk| !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)))
        .filter(|jwk| {
            matches!(
                jwk.algorithm,
                AlgorithmParameters::EllipticCurve(_)
                    | AlgorithmParameters::RSA(_)
                    | AlgorithmParameters::OctetKeyPair(_)
            )
        })
        .collect();
    if keys.is_empty() {
        return Err(format("no usable signing key".to_owned()));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::{SigningKey, generate_pem};

    fn jwks_of(keys: &[&SigningKey]) -> String {
        serde_json::json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()}).to_string()
    }

    #[tokio::test]
    async fn file_keys_are_found_by_kid() {
        let a = SigningKey::from_pem(&generate_pem().unwrap()).unwrap();
        let b = SigningKey::from_pem(&generate_pem().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, jwks_of(&[&a, &b])).unwrap();
        let keys = RemoteKeys::new(JwksSource::File(path));
        assert_eq!(keys.load().await.unwrap(), 2);
        assert_eq!(keys.find(Some(b.kid())).await.as_ref(), Some(b.jwk()));
        assert!(keys.find(None).await.is_none(), "two keys: a kid is needed");
        assert!(keys.find(Some("nope")).await.is_none());
    }

    #[test]
    fn documents_without_usable_keys_are_refused() {
        assert!(parse("{}", "x").is_err());
        assert!(parse("{\"keys\": [{\"kty\": \"weird\"}]}", "x").is_err());
        assert!(parse("not json", "x").is_err());
    }
}
